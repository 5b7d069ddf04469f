import LLVMKit
import QuantSchedule

/// AVX2 exact: B bytes are widened to i16 in the kernel (`vpmovsxbw`/`vpmovzxbw` from memory, so
/// packed B stays int8), A's pair of bytes is widened and broadcast, and `vpmaddwd` adds the two
/// i16×i16 products of each lane into i32. Every product and pair sum fits, so the result is exact
/// for any u8/s8 mix — `vpmaddubsw`, which saturates (255·127·2 > 32767), is never used.
struct PmaddwdEmitter: DotEmitter {
    let instruction: DotInstruction
    let context: Context
    let bSigned: Bool
    let function: IRValue
    let functionType: IRType

    init(instruction: DotInstruction, module: Module, bSigned: Bool) throws {
        self.instruction = instruction
        context = module.context
        self.bSigned = bSigned
        (function, functionType) = try module.intrinsic(instruction.intrinsic!)
    }

    var accumulatorType: IRType { context.vector(context.i32, instruction.lanes) }
    private var wideType: IRType { context.vector(context.i16, instruction.lanes * 2) }

    func loadB(_ b: IRBuilder, at pointer: IRValue) -> IRValue {
        let bytes = b.load(context.vector(context.i8, instruction.lanes * 2), from: pointer, align: instruction.lanes * 2)
        return bSigned ? b.sext(bytes, to: wideType) : b.zext(bytes, to: wideType)
    }

    func loadA(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue {
        precondition(!flipSign, "pmaddwd reads A in its own domain")
        if validBytes == 2 {
            // Broadcast the byte pair (vpbroadcastw: a0 a1 a0 a1 ...) and widen once
            // (vpmovsxbw/vpmovzxbw): lanes alternate A[k], A[k+1] as i16.
            let pair = b.load(context.i16, from: pointer, align: 1)
            let bytes = b.bitcast(b.splat(pair, count: instruction.lanes), to: context.vector(context.i8, instruction.lanes * 2))
            return signed ? b.sext(bytes, to: wideType) : b.zext(bytes, to: wideType)
        }
        // The K tail: A[k] in the low half of each i32, 0 in the high half.
        let pair = packAGroup(b, at: pointer, validBytes: validBytes, signed: signed)
        return b.bitcast(b.splat(pair, count: instruction.lanes), to: wideType)
    }

    func packAGroup(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, signed: Bool) -> IRValue {
        // A[k] widened into the low i16, A[k+1] (or 0 past K) into the high i16.
        var pair = context.constInt(context.i32, 0)
        for t in 0..<validBytes {
            let byte = b.load(context.i8, from: b.byteOffset(pointer, context.constInt(context.i64, Int64(t))), align: 1)
            let half = signed ? b.sext(byte, to: context.i16) : b.zext(byte, to: context.i16)
            let wide = b.zext(half, to: context.i32)
            pair = b.or(pair, t == 0 ? wide : b.shl(wide, context.constInt(context.i32, 16)))
        }
        return pair
    }

    /// A group packs as its two bytes widened to i16 in order, so a row packs as its bytes widened:
    /// 16 at a time (`vpmovzxbw`/`vpmovsxbw` ymm, m128).
    var packAChunkBytes: Int? { 16 }

    func packAChunk(_ b: IRBuilder, at pointer: IRValue, signed: Bool) -> IRValue {
        let bytes = b.load(context.vector(context.i8, 16), from: pointer, align: 1)
        return signed ? b.sext(bytes, to: context.vector(context.i16, 16)) : b.zext(bytes, to: context.vector(context.i16, 16))
    }

    func loadPackedA(_ b: IRBuilder, at pointer: IRValue) -> IRValue {
        b.bitcast(b.splat(b.load(context.i32, from: pointer, align: 4), count: instruction.lanes), to: wideType)
    }

    func dot(_ b: IRBuilder, _ acc: IRValue, _ a: IRValue, _ bVector: IRValue) -> IRValue {
        b.add(acc, b.call(function, type: functionType, [a, bVector]))
    }

    func accumulateRowSum(_ b: IRBuilder, _ rowSum: IRValue, _ a: IRValue) -> IRValue {
        let ones = b.splat(context.constInt(context.i16, 1), count: instruction.lanes * 2)
        return dot(b, rowSum, a, ones)
    }
}
