/// The peers' MatMulNBits operator names (`../shared/peers/bench.py nbits`), shared by `qforge
/// bench` and the MiniLM runner: `f32_nbits{4|8}_b{block}[_asym]_{int8|f32}` — f32 A, weights in
/// `bits` with one f32 scale per `block` weights along K, per-block zero points with `_asym` (else
/// the midpoint), `_int8` = accuracy_level 4, `_f32` = accuracy_level 0.
public struct NBitsPreset: Sendable, Hashable, CustomStringConvertible {
    public let bits: Int
    public let blockSize: Int
    public let zeroPoints: NBitsLinear.ZeroPoints
    public let compute: NBitsLinear.Compute

    public init(bits: Int, blockSize: Int, zeroPoints: NBitsLinear.ZeroPoints, compute: NBitsLinear.Compute) {
        self.bits = bits
        self.blockSize = blockSize
        self.zeroPoints = zeroPoints
        self.compute = compute
    }

    /// Parses a name; nil when it is not one (or names bits or a block size MatMulNBits does not allow).
    public init?(name: String) {
        var parts = name.split(separator: "_").map(String.init)
        guard parts.count == 4 || parts.count == 5, parts[0] == "f32", parts[1].hasPrefix("nbits"), parts[2].hasPrefix("b"),
              let bits = Int(parts[1].dropFirst(5)), let block = Int(parts[2].dropFirst()),
              let compute = NBitsLinear.Compute(rawValue: parts.removeLast()) else { return nil }
        if parts.count == 4 && parts[3] != "asym" { return nil }
        guard NBitsLinear.bitWidths.contains(bits), NBitsLinear.blockSizes.contains(block) else { return nil }
        self.init(bits: bits, blockSize: block, zeroPoints: parts.count == 4 ? .perBlock : .midpoint, compute: compute)
    }

    public var description: String {
        "f32_nbits\(bits)_b\(blockSize)\(zeroPoints == .perBlock ? "_asym" : "")_\(compute.rawValue)"
    }

    /// The linear for `k` inputs and `n` outputs (validated: bits and block size must be allowed).
    public func linear(k: Int, n: Int, hasBias: Bool = false, activation: Activation = .none) throws(QuantError) -> NBitsLinear {
        try NBitsLinear(inputs: k, outputs: n, bits: bits, blockSize: blockSize, zeroPoints: zeroPoints, compute: compute,
                        hasBias: hasBias, activation: activation)
    }
}
