import LLVMKit
import QuantOps
import QuantSchedule

/// The depthwise convolution's own microkernel (groups = C = OC, NHWC): for each output pixel in
/// [begin, end), channel vectors of the ISA's width accumulate `(x - x_zp)·(w - w_zp[c])` over the
/// KH·KW taps (taps outside the image read a row of `x_zp`, contributing zero), add the packed
/// int32 bias, and go through the shared `OutputEpilogue`. Channels that do not fill a vector run
/// one at a time. Arguments (qf_elementwise_args): x = input, x2 = packed weights, y = output,
/// extra = the chain's residual (NHWC), begin/end = output pixels.
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
        let hasBias = DepthwiseWeights.hasBias(conv)
        let hasResidual = if case let .chain(chain) = conv.output { chain.residual != nil } else { false }
        let xZero = conv.xQuant.zeroPoints[0]
        // One pixel of x_zp for the taps outside the image.
        let padding = b.alloca(bytes: channels, align: nil, "padding")
        let paddingRow = b.bitcast(padding, to: context.pointer(to: context.i8))
        b.memset(paddingRow, to: context.constInt(context.i8, Int64(UInt8(truncatingIfNeeded: xZero))), size: f.const(channels), align: 1)
        let pixels = conv.outputHeight * conv.outputWidth
        f.loops.loop("p", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { p, _ in
            let image = b.sdiv(p, f.const(pixels))
            let pixel = b.srem(p, f.const(pixels))
            let oh = b.sdiv(pixel, f.const(conv.outputWidth))
            let ow = b.srem(pixel, f.const(conv.outputWidth))
            // Each tap's input pixel, or the padding row when it lies outside the image.
            var tapRows: [IRValue] = []
            for kh in 0..<conv.kernelHeight {
                let ih = b.add(b.sub(b.mul(oh, f.const(conv.strides[0])), f.const(conv.pads[0])), f.const(kh * conv.dilations[0]))
                let rowInside = b.and(b.icmp(.sge, ih, f.const(0)), b.icmp(.slt, ih, f.const(conv.height)))
                for kw in 0..<conv.kernelWidth {
                    let iw = b.add(b.sub(b.mul(ow, f.const(conv.strides[1])), f.const(conv.pads[1])), f.const(kw * conv.dilations[1]))
                    let inside = b.and(rowInside, b.and(b.icmp(.sge, iw, f.const(0)), b.icmp(.slt, iw, f.const(conv.width))))
                    // Clamped coordinates keep the address computation in bounds even when unused.
                    let safeH = b.select(inside, ih, f.const(0)), safeW = b.select(inside, iw, f.const(0))
                    let offset = b.mul(b.add(b.mul(b.add(b.mul(image, f.const(conv.height)), safeH), f.const(conv.width)), safeW),
                                       f.const(channels * conv.xType.byteSize))
                    tapRows.append(b.select(inside, b.byteOffset(f.x, offset), paddingRow))
                }
            }
            f.vectorLoop("c", from: f.const(0), to: f.const(channels)) { c, width in
                let ints = context.vector(context.i32, width)
                var acc = context.null(ints)
                for tap in 0..<taps {
                    let x = b.sub(f.loadInts(conv.xType, tapRows[tap], c, width: width), f.splatInt(xZero, width))
                    let w = b.load(ints, from: b.byteOffset(f.x2, b.mul(b.add(c, f.const(tap * channels)), f.const(4))), align: 4)
                    acc = b.add(acc, b.mul(x, w))
                }
                if hasBias {
                    acc = b.add(acc, b.load(ints, from: b.byteOffset(f.x2, b.mul(b.add(c, f.const(taps * channels)), f.const(4))), align: 4))
                }
                let element = b.add(b.mul(p, f.const(channels)), c)
                let residual = hasResidual ? b.byteOffset(f.extra, element) : nil
                let value = epilogue.convert(acc, column: c, width: width, residual: residual.map { [$0] } ?? [])
                b.store(value, to: b.byteOffset(f.y, b.mul(element, f.const(size))), align: 1)
            }
            return []
        }
        f.finish()
        return f.function
    }
}

/// A depthwise convolution's weights as its kernel reads them: int32 `w - w_zp[c]` per tap
/// [KH·KW][C], then, when requantizing with a bias, the int32 bias per channel.
public final class DepthwiseWeights: @unchecked Sendable {
    public let values: [Int32]
    /// Identifies the convolution the weights were packed for.
    public let signature: String

    static func hasBias(_ conv: Conv2D) -> Bool {
        if case let .requantized(r) = conv.output { return r.bias != nil }
        return false
    }

    public static func packingSignature(_ conv: Conv2D) -> String {
        var hash = StableHash()
        for point in conv.wQuant.zeroPoints { hash.combine(point) }
        if case let .requantized(r) = conv.output, let bias = r.bias { for value in bias { hash.combine(value) } }
        return "depthwise \(conv.inChannels) \(conv.kernelHeight)x\(conv.kernelWidth) \(conv.wType) \(hash.hex)"
    }

    /// Packs ONNX [C, 1, KH, KW] weights.
    public init(_ conv: Conv2D, w: [UInt8]) throws(QuantError) {
        if w.count < conv.weightElements {
            throw .bufferTooSmall(field: "W", requiredBytes: conv.weightElements, actualBytes: w.count)
        }
        let channels = conv.inChannels, taps = conv.kernelHeight * conv.kernelWidth
        var values = [Int32](repeating: 0, count: taps * channels)
        w.withUnsafeBytes { bytes in
            for c in 0..<channels {
                let zero = conv.wQuant.zeroPoint(c)
                for tap in 0..<taps { values[tap * channels + c] = conv.wType.loadInt8(bytes, c * taps + tap) &- zero }
            }
        }
        if case let .requantized(r) = conv.output, let bias = r.bias { values += bias }
        self.values = values
        signature = Self.packingSignature(conv)
    }
}
