/// A weight-only quantized linear layer — ONNX Runtime's `com.microsoft::MatMulNBits`:
/// `y[m][n] = act(Σ_k a[m][k] · w[n][k] + bias[n])` with f32 activations and weights quantized
/// blockwise along K in 4 or 8 bits, `w[n][k] = (q[n][k] - zp[n][j]) · scale[n][j]` for the block
/// `j = k / blockSize`.
///
/// The quantized weights come in MatMulNBits' layout: `B [N, blocks, blockSize·bits/8]` (for 4 bits
/// element 2i in the low nibble of byte i, 2i+1 in the high nibble; the last block of a column
/// padded), `scales [N·blocks]`, and, with `.perBlock` zero points, `zero_points [N, ⌈blocks·bits/8⌉]`
/// packed like B; without them every block's zero point is `2^(bits-1)`.
///
/// Both compute modes are defined operation by operation (`ReferenceOperators.nbitsLinear`), so the
/// kernels are bit-exact with the reference:
/// - `.int8` (MatMulNBits `accuracy_level` 4): each row of A is quantized per block as MLAS's
///   `QuantizeARow_CompInt8` does (scale = amax / 127, q = RNE(a · (127 / amax)), padded with
///   zeros); per block the integer dot product `Σ q_a · (q_w - zp)` (exact in int32), then
///   `acc = fma(float(dot), scale_a · scale_w, acc)` over the blocks in order from 0.
/// - `.f32` (`accuracy_level` 0): `w = float(q - zp) · scale`, `acc = fma(a[k], w, acc)` over k in
///   order from 0.
/// Then `y = act(acc + bias)` (no bias: `act(acc)`).
public struct NBitsLinear: Sendable, Hashable, Codable {
    /// Where each block's zero point comes from.
    public enum ZeroPoints: String, Sendable, Hashable, Codable, CaseIterable {
        /// `2^(bits-1)` for every block (MatMulNBits without a `zero_points` input).
        case midpoint
        /// One stored zero point per block, packed like the weights.
        case perBlock
    }

    /// How the dot products are computed.
    public enum Compute: String, Sendable, Hashable, Codable, CaseIterable {
        /// A quantized to int8 per block, integer block dot products (MatMulNBits accuracy_level 4).
        case int8
        /// Weights dequantized to f32, one fma per weight (accuracy_level 0).
        case f32
    }

    /// The block sizes MatMulNBits allows (powers of two from 16).
    public static let blockSizes = [16, 32, 64, 128, 256]
    public static let bitWidths = [4, 8]

    /// K: inputs per row.
    public let inputs: Int
    /// N: outputs per row.
    public let outputs: Int
    public let bits: Int
    public let blockSize: Int
    public let zeroPoints: ZeroPoints
    public let compute: Compute
    public let hasBias: Bool
    public let activation: Activation

    public init(inputs: Int, outputs: Int, bits: Int = 4, blockSize: Int = 32, zeroPoints: ZeroPoints = .midpoint,
                compute: Compute = .int8, hasBias: Bool = false, activation: Activation = .none) throws(QuantError) {
        try MatMul.checkDimension("inputs", inputs)
        try MatMul.checkDimension("outputs", outputs)
        guard Self.bitWidths.contains(bits) else {
            throw .invalidArgument(field: "bits", reason: "\(bits) is not one of \(Self.bitWidths)")
        }
        guard Self.blockSizes.contains(blockSize) else {
            throw .invalidArgument(field: "blockSize", reason: "\(blockSize) is not one of \(Self.blockSizes)")
        }
        if inputs * outputs > 1 << 31 { throw .invalidShape(field: "weights", reason: "\(outputs)×\(inputs) exceeds 2^31 values") }
        try activation.validate(field: "activation")
        self.inputs = inputs
        self.outputs = outputs
        self.bits = bits
        self.blockSize = blockSize
        self.zeroPoints = zeroPoints
        self.compute = compute
        self.hasBias = hasBias
        self.activation = activation
    }

    /// Blocks along K per column (the last one may be partial).
    public var blocksPerColumn: Int { (inputs + blockSize - 1) / blockSize }
    /// Bytes of one block of one column in B.
    public var blockBytes: Int { blockSize * bits / 8 }
    /// The zero point of every block when `zeroPoints` is `.midpoint`.
    public var midpoint: Int { 1 << (bits - 1) }
    /// Bytes of MatMulNBits' B input.
    public var quantizedWeightBytes: Int { outputs * blocksPerColumn * blockBytes }
    /// Values of the scales input.
    public var scaleCount: Int { outputs * blocksPerColumn }
    /// Bytes of one column's zero points, and of the whole `zero_points` input (0 for `.midpoint`).
    public var zeroPointBytesPerColumn: Int { (blocksPerColumn * bits + 7) / 8 }
    public var zeroPointBytes: Int { zeroPoints == .perBlock ? outputs * zeroPointBytesPerColumn : 0 }
    /// What the model stores: weights, f32 scales, zero points (the bytes a GEMV streams at least).
    public var modelBytes: Int { quantizedWeightBytes + 4 * scaleCount + zeroPointBytes }

    /// The quantized value of weight (n, k) from MatMulNBits' B.
    @inline(__always)
    public func quantizedWeight(_ b: UnsafeBufferPointer<UInt8>, n: Int, k: Int) -> Int {
        let block = k / blockSize, within = k % blockSize
        let byteIndex = (n * blocksPerColumn + block) * blockBytes + (bits == 8 ? within : within / 2)
        let byte = Int(b[byteIndex])
        return bits == 8 ? byte : (within % 2 == 0 ? byte & 0xF : byte >> 4)
    }

    /// The zero point of block `block` of column n.
    @inline(__always)
    public func zeroPoint(_ zeroPoints: UnsafeBufferPointer<UInt8>?, n: Int, block: Int) -> Int {
        guard let zeroPoints else { return midpoint }
        let base = n * zeroPointBytesPerColumn
        if bits == 8 { return Int(zeroPoints[base + block]) }
        let byte = Int(zeroPoints[base + block / 2])
        return block % 2 == 0 ? byte & 0xF : byte >> 4
    }
}

extension NBitsLinear {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(inputs: try c.decode(Int.self, forKey: .inputs), outputs: try c.decode(Int.self, forKey: .outputs),
                      bits: try c.decode(Int.self, forKey: .bits), blockSize: try c.decode(Int.self, forKey: .blockSize),
                      zeroPoints: try c.decode(ZeroPoints.self, forKey: .zeroPoints), compute: try c.decode(Compute.self, forKey: .compute),
                      hasBias: try c.decode(Bool.self, forKey: .hasBias), activation: try c.decode(Activation.self, forKey: .activation))
    }

    /// MatMulNBits' f16 scales (IEEE binary16 bit patterns) as f32, exactly.
    public static func scales(fromHalf bits: [UInt16]) -> [Float] { bits.map { Float(Float16(bitPattern: $0)) } }
}
