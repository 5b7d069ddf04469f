import LLVMKit
import QuantSchedule

/// The portable microkernel: bytes widened to i32 lanes with their own signedness, multiplied and
/// added with plain LLVM vector IR. kGroup = 1, so there is never a partial group.
struct PortableWideningEmitter: DotEmitter {
    let instruction: DotInstruction
    let context: Context
    let bSigned: Bool

    var accumulatorType: IRType { context.vector(context.i32, instruction.lanes) }

    func loadB(_ b: IRBuilder, at pointer: IRValue) -> IRValue {
        let bytes = b.load(context.vector(context.i8, instruction.lanes), from: pointer, align: instruction.lanes)
        return bSigned ? b.sext(bytes, to: accumulatorType) : b.zext(bytes, to: accumulatorType)
    }

    func loadA(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue {
        precondition(validBytes == 1 && !flipSign, "the portable kernel reads A in its own domain, one byte per k")
        let byte = b.load(context.i8, from: pointer, align: 1)
        let wide = signed ? b.sext(byte, to: context.i32) : b.zext(byte, to: context.i32)
        return b.splat(wide, count: instruction.lanes)
    }

    func dot(_ b: IRBuilder, _ acc: IRValue, _ a: IRValue, _ bVector: IRValue) -> IRValue {
        b.add(acc, b.mul(a, bVector))
    }

    func accumulateRowSum(_ b: IRBuilder, _ rowSum: IRValue, _ a: IRValue) -> IRValue {
        b.add(rowSum, a)
    }
}
