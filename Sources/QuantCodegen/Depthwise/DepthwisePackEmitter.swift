import LLVMKit
import QuantOps
import QuantSchedule

/// Emits the depthwise kernel's weight packer, the one AOT libraries call (`NAME_pack`): for
/// channels [begin, end), x = ONNX weights [C, 1, KH, KW] (u8 or s8) → y = the packed int32 words
/// of `DepthwiseWeights.Layout` — `w - w_zp` per tap and channel (as words, or four taps per word
/// as s8 bytes when the kernel of the same instruction runs tap groups), then each channel's
/// compensation `bias - x_zp · Σ (w - w_zp)` (wrapping, as the kernel adds it). The layout choice
/// comes from the instruction the depthwise kernel of the same ISA is built on, so packer and
/// kernel cannot disagree; `DepthwiseWeights.init` is the same packing in Swift (the JIT's), and
/// the tests hold the two byte for byte.
struct DepthwisePackEmitter {
    let conv: Conv2D

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context, i32 = context.i32, i8 = context.i8
        let channels = conv.inChannels, taps = conv.kernelHeight * conv.kernelWidth
        let layout = DepthwiseWeights.Layout(conv, tapGroups: DepthwiseWeights.usesTapGroups(conv, isa: instruction.isa))
        let zeroPoints = f.constantArray("\(name).w.zero.points", ints: (0..<channels).map { conv.wQuant.zeroPoint($0) })
        var bias: [Int32]? = nil
        if case let .requantized(r) = conv.output { bias = r.bias }
        let biases = f.constantArray("\(name).bias", ints: bias ?? Array(repeating: 0, count: channels))
        let xZero = context.constInt(i32, Int64(conv.xQuant.zeroPoints[0]))
        func word(_ index: IRValue) -> IRValue { b.byteOffset(f.y, b.mul(index, f.const(4))) }

        f.loops.loop("c", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { c, _ in
            let zeroPoint = b.load(i32, from: b.byteOffset(zeroPoints, b.mul(c, f.const(4))), align: 4)
            let source = b.byteOffset(f.x, b.mul(c, f.const(taps)))
            let sum = f.loops.loop("tap", from: f.const(0), step: 1, carried: [context.constInt(i32, 0)],
                                   while: { b.icmp(.slt, $0, f.const(taps)) }) { t, carried in
                let byte = b.load(i8, from: b.byteOffset(source, t), align: 1)
                let value = conv.wType == .s8 ? b.sext(byte, to: i32) : b.zext(byte, to: i32)
                let adjusted = b.sub(value, zeroPoint)
                if layout.tapGroups {
                    // Byte t % 4 of word (t / 4)·C + c: taps 4g…4g+3 of a channel, little-endian.
                    let group = b.sdiv(t, f.const(4)), within = b.srem(t, f.const(4))
                    let target = b.byteOffset(word(b.add(b.mul(group, f.const(channels)), c)), within)
                    b.store(b.trunc(adjusted, to: i8), to: target, align: 1)
                } else {
                    b.store(adjusted, to: word(b.add(b.mul(t, f.const(channels)), c)), align: 4)
                }
                return [b.add(carried[0], adjusted)]
            }.carried[0]
            if layout.tapGroups {
                // The last group's bytes past the taps are zero.
                let last = word(b.add(f.const((layout.groups - 1) * channels), c))
                for j in (taps % 4 == 0 ? 4 : taps % 4)..<4 { b.store(context.constInt(i8, 0), to: b.byteOffset(last, f.const(j)), align: 1) }
            }
            let channelBias = b.load(i32, from: b.byteOffset(biases, b.mul(c, f.const(4))), align: 4)
            b.store(b.sub(channelBias, b.mul(xZero, sum)), to: word(b.add(f.const(layout.compensationWord), c)), align: 4)
            return []
        }
        f.finish()
        return f.function
    }
}
