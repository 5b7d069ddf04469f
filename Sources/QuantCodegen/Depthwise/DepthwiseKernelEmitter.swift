import LLVMKit
import QuantOps
import QuantSchedule

/// The depthwise convolution's own microkernel (groups = C = OC, NHWC): for each output pixel in
/// [begin, end), channel vectors of the ISA's width accumulate `x·(w - w_zp[c])` over the KH·KW
/// taps, add the packed per-channel compensation (`bias - x_zp·Σ_taps (w - w_zp)`, which takes
/// x's zero point out of the loop), and go through the shared `OutputEpilogue`. Pixels are walked
/// one output row at a time (`ConvolutionPixelWalk`): a pixel whose whole window lies inside the
/// image reads its taps at constant offsets from one address; a pixel on the border clamps each
/// tap and reads a row of `x_zp` for taps outside (contributing exactly what the compensation
/// takes away). Channels that do not fill a vector run one at a time.
/// With VNNI and weights whose `w - w_zp` fits s8 (`DepthwiseWeights.usesTapGroups`), four taps go through one
/// `vpdpbusd`: the four taps' channel bytes are interleaved into one operand per channel vector and
/// the weights are packed four taps per channel; otherwise each tap is a widening multiply-add.
/// Arguments (qf_elementwise_args): x = input, x2 = packed weights, y = output, extra = the
/// chain's residual (NHWC), begin/end = output pixels.
struct DepthwiseKernelEmitter {
    let conv: Conv2D

    /// The op's output mode over C columns (channel c is column c).
    static func outputOp(_ conv: Conv2D) throws(QuantError) -> MatMul {
        try MatMul(m: nil, k: conv.kernelHeight * conv.kernelWidth, n: conv.outChannels, aType: conv.xType, bType: conv.wType,
                   aQuant: conv.xQuant, bQuant: conv.wQuant, output: conv.output)
    }

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) throws -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context
        let channels = conv.inChannels, taps = conv.kernelHeight * conv.kernelWidth
        let outputType = conv.output.elementType, size = outputType.byteSize
        let epilogue = OutputEpilogue(op: try Self.outputOp(conv), module: module, builder: b, columns: channels, isa: instruction.isa)
        let hasResidual = if case let .chain(chain) = conv.output { chain.residual != nil } else { false }
        let xZero = conv.xQuant.zeroPoints[0]
        let pixelBytes = channels * conv.xType.byteSize
        // One pixel of x_zp for the taps outside the image.
        let padding = b.alloca(bytes: channels, align: nil, "padding")
        let paddingRow = b.bitcast(padding, to: context.pointer(to: context.i8))
        b.memset(paddingRow, to: context.constInt(context.i8, Int64(UInt8(truncatingIfNeeded: xZero))), size: f.const(channels), align: 1)
        let tapGroups = DepthwiseWeights.usesTapGroups(conv, isa: instruction.isa)
        let layout = DepthwiseWeights.Layout(conv, tapGroups: tapGroups)
        let dot = tapGroups ? try DotEmitters.make(instruction, module: module, bSigned: true) : nil

        /// Σ over the taps of x·(w - w_zp), plus the compensation, for `width` channels from `c`.
        func accumulate(_ tapRows: [IRValue], _ c: IRValue, width: Int) -> IRValue {
            let ints = context.vector(context.i32, width)
            var acc = b.load(ints, from: b.byteOffset(f.x2, b.mul(b.add(c, f.const(layout.compensationWord)), f.const(4))), align: 4)
            guard let dot, width > 1 else {
                for tap in 0..<taps {
                    let x = f.loadInts(conv.xType, tapRows[tap], c, width: width)
                    let w: IRValue
                    if tapGroups {  // a tail channel: its byte of the tap's group
                        let byte = b.byteOffset(f.x2, b.add(b.mul(b.add(c, f.const(tap / 4 * channels)), f.const(4)), f.const(tap % 4)))
                        w = b.sext(b.load(context.vector(context.i8, width), from: byte, align: 1), to: ints)
                    } else {
                        w = b.load(ints, from: b.byteOffset(f.x2, b.mul(b.add(c, f.const(tap * channels)), f.const(4))), align: 4)
                    }
                    acc = b.add(acc, b.mul(x, w))
                }
                return acc
            }
            // Four taps per vpdpbusd: byte 4i + j of the operand is tap j's byte of channel c + i.
            let bytes = context.vector(context.i8, width)
            let pair = (0..<(2 * width)).map { context.constInt(context.i32, Int64($0)) }
            let interleave = (0..<(4 * width)).map { index -> IRValue in
                let channel = index / 4, tap = index % 4
                return context.constInt(context.i32, Int64((tap < 2 ? tap * width : 2 * width + (tap - 2) * width) + channel))
            }
            for group in 0..<layout.groups {
                let parts = (0..<4).map { j -> IRValue in
                    let tap = 4 * group + j
                    return tap < taps ? b.load(bytes, from: b.byteOffset(tapRows[tap], c), align: 1) : context.null(bytes)
                }
                let low = b.shuffle(parts[0], parts[1], mask: context.constVector(pair))
                let high = b.shuffle(parts[2], parts[3], mask: context.constVector(pair))
                let x = b.shuffle(low, high, mask: context.constVector(interleave))
                let w = b.load(ints, from: b.byteOffset(f.x2, b.mul(b.add(c, f.const(group * channels)), f.const(4))), align: 4)
                acc = dot.dot(b, acc, x, w)
            }
            return acc
        }

        /// The channel loop of one pixel whose taps start at `tapRows`.
        func channelLoop(_ p: IRValue, _ tapRows: [IRValue]) {
            f.vectorLoop("c", from: f.const(0), to: f.const(channels)) { c, width in
                let acc = accumulate(tapRows, c, width: width)
                let element = b.add(b.mul(p, f.const(channels)), c)
                let residual = hasResidual ? b.byteOffset(f.extra, element) : nil
                let value = epilogue.convert(acc, column: c, width: width, residual: residual.map { [$0] } ?? [])
                b.store(value, to: b.byteOffset(f.y, b.mul(element, f.const(size))), align: 1)
            }
        }

        // Pixels as ConvolutionPixelWalk orders them: per output row, the interior columns' windows
        // read every tap at a constant offset from the window's corner; the border clamps each tap.
        let geometry = ConvolutionGeometry(conv)
        ConvolutionPixelWalk(geometry: geometry, interiorColumns: geometry.interiorColumns()).emit(
            b, loops: f.loops, from: f.begin, to: f.end,
            interior: { pixel in
                let rowStart = b.add(b.mul(pixel.image, f.const(conv.height)), pixel.top)
                let corner = b.byteOffset(f.x, b.mul(b.add(b.mul(rowStart, f.const(conv.width)), pixel.left), f.const(pixelBytes)))
                var cornerRows: [IRValue] = []
                for kh in 0..<conv.kernelHeight {
                    for kw in 0..<conv.kernelWidth {
                        let offset = (kh * conv.dilations[0] * conv.width + kw * conv.dilations[1]) * pixelBytes
                        cornerRows.append(b.byteOffset(corner, f.const(offset)))
                    }
                }
                channelLoop(pixel.index, cornerRows)
            },
            border: { pixel in
                // Each tap's input pixel, or the padding row when it lies outside.
                var tapRows: [IRValue] = []
                for kh in 0..<conv.kernelHeight {
                    let ih = b.add(pixel.top, f.const(kh * conv.dilations[0]))
                    let rowInside = b.and(b.icmp(.sge, ih, f.const(0)), b.icmp(.slt, ih, f.const(conv.height)))
                    for kw in 0..<conv.kernelWidth {
                        let iw = b.add(pixel.left, f.const(kw * conv.dilations[1]))
                        let inside = b.and(rowInside, b.and(b.icmp(.sge, iw, f.const(0)), b.icmp(.slt, iw, f.const(conv.width))))
                        // Clamped coordinates keep the address computation in bounds even when unused.
                        let safeH = b.select(inside, ih, f.const(0)), safeW = b.select(inside, iw, f.const(0))
                        let offset = b.mul(b.add(b.mul(b.add(b.mul(pixel.image, f.const(conv.height)), safeH), f.const(conv.width)), safeW),
                                           f.const(pixelBytes))
                        tapRows.append(b.select(inside, b.byteOffset(f.x, offset), paddingRow))
                    }
                }
                channelLoop(pixel.index, tapRows)
            })
        f.finish()
        return f.function
    }
}

/// A depthwise convolution's weights as its kernel reads them, then the int32 compensation per
/// channel: `bias - x_zp·Σ_taps (w - w_zp[c])` (the bias when requantizing with one; wrapping int32
/// arithmetic, as the kernel's). The weights are `w - w_zp[c]` as int32 per tap [KH·KW][C], or,
/// for kernels with tap groups, as s8 four taps per channel [⌈KH·KW/4⌉][C][4] (missing taps zero).
/// Held 64-byte aligned, as the kernel's vector loads of weights and compensation expect (an
/// array's storage is only 16-byte aligned: loads split across cache lines cost ~25% at C = 32).
public final class DepthwiseWeights: @unchecked Sendable {
    /// The packed int32 words (64-byte aligned, immutable after packing).
    public let bytes: UnsafeMutableRawPointer
    /// Number of int32 words at `bytes`.
    public let count: Int
    /// Identifies the convolution and the kernel the weights were packed for.
    public let signature: String

    /// The packed words as an array (for tests and the AArch64 fuzz runner).
    public var values: [Int32] { Array(UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: Int32.self), count: count)) }

    deinit { bytes.deallocate() }

    /// Whether `conv`'s kernel on `isa` runs four taps per `vpdpbusd`: the ISA's vector instruction
    /// (the one the kernel is built on: AVX-512 VNNI on AMX CPUs) is VNNI, the input u8, and the
    /// weights' `w - w_zp` fits s8 for every channel (s8 with zero point 0, or u8 with 128).
    public static func usesTapGroups(_ conv: Conv2D, isa: ISA) -> Bool {
        guard let kernelISA = try? InstructionTable.vectorInstruction(for: isa).isa,
              kernelISA == .avx512vnni || kernelISA == .avxvnni, conv.xType == .u8 else { return false }
        let zeroPoints = (0..<conv.outChannels).map { conv.wQuant.zeroPoint($0) }
        return conv.wType == .s8 ? zeroPoints.allSatisfy { $0 == 0 } : zeroPoints.allSatisfy { $0 == 128 }
    }

    /// Where things are in `values` (in int32 words).
    struct Layout {
        let tapGroups: Bool
        /// Tap groups of four (tap-group layout).
        let groups: Int
        /// The first word of the per-channel compensation.
        let compensationWord: Int

        init(_ conv: Conv2D, tapGroups: Bool) {
            let taps = conv.kernelHeight * conv.kernelWidth
            self.tapGroups = tapGroups
            groups = (taps + 3) / 4
            compensationWord = (tapGroups ? groups : taps) * conv.inChannels
        }
    }

    /// Bytes of `conv`'s packed weights for its kernel on `isa`: the taps' words, then one
    /// compensation word per channel.
    public static func packedBytes(_ conv: Conv2D, isa: ISA) -> Int {
        4 * (Layout(conv, tapGroups: usesTapGroups(conv, isa: isa)).compensationWord + conv.inChannels)
    }

    public static func packingSignature(_ conv: Conv2D, isa: ISA) -> String {
        var hash = StableHash()
        hash.combine(conv.xQuant.zeroPoints[0])
        for point in conv.wQuant.zeroPoints { hash.combine(point) }
        if case let .requantized(r) = conv.output, let bias = r.bias { for value in bias { hash.combine(value) } }
        let layout = DepthwiseWeights.usesTapGroups(conv, isa: isa) ? "tap groups" : "int32 taps"
        return "depthwise \(conv.inChannels) \(conv.kernelHeight)x\(conv.kernelWidth) \(conv.wType) \(layout) x_zp+w_zp+bias \(hash.hex)"
    }

    /// Packs ONNX [C, 1, KH, KW] weights for the depthwise kernel of `isa`.
    public init(_ conv: Conv2D, w: [UInt8], isa: ISA) throws(QuantError) {
        if w.count < conv.weightElements {
            throw .bufferTooSmall(field: "W", requiredBytes: conv.weightElements, actualBytes: w.count)
        }
        let channels = conv.inChannels, taps = conv.kernelHeight * conv.kernelWidth
        let layout = Layout(conv, tapGroups: DepthwiseWeights.usesTapGroups(conv, isa: isa))
        var adjusted = [Int32](repeating: 0, count: taps * channels)  // [tap][c]
        w.withUnsafeBytes { bytes in
            for c in 0..<channels {
                let zero = conv.wQuant.zeroPoint(c)
                for tap in 0..<taps { adjusted[tap * channels + c] = conv.wType.loadInt8(bytes, c * taps + tap) &- zero }
            }
        }
        var values: [Int32]
        if layout.tapGroups {
            // Each word: taps 4g…4g+3 of one channel as s8 bytes, little-endian (they fit: usesTapGroups).
            values = [Int32](repeating: 0, count: layout.groups * channels)
            for group in 0..<layout.groups {
                for c in 0..<channels {
                    var word: UInt32 = 0
                    for j in 0..<4 where 4 * group + j < taps {
                        word |= UInt32(UInt8(truncatingIfNeeded: adjusted[(4 * group + j) * channels + c])) << (8 * j)
                    }
                    values[group * channels + c] = Int32(bitPattern: word)
                }
            }
        } else {
            values = adjusted
        }
        var bias: [Int32]? = nil
        if case let .requantized(r) = conv.output { bias = r.bias }
        let xZero = conv.xQuant.zeroPoints[0]
        values += (0..<channels).map { c in
            let sum = (0..<taps).reduce(Int32(0)) { $0 &+ adjusted[$1 * channels + c] }
            return (bias?[c] ?? 0) &- xZero &* sum
        }
        let aligned = UnsafeMutableRawPointer.allocate(byteCount: max(values.count * 4, 64), alignment: 64)
        values.withUnsafeBytes { aligned.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        bytes = aligned
        count = values.count
        signature = Self.packingSignature(conv, isa: isa)
    }
}
