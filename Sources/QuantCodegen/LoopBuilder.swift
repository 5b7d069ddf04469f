import CLLVM
import LLVMKit

/// Emits counted loops in SSA form: the induction variable and loop-carried values are phis in the
/// header, so no alloca or mem2reg is needed (and compile time stays low).
struct LoopBuilder {
    let builder: IRBuilder
    let function: LLVMValueRef

    /// `for (iv = start; condition(iv); iv += step) carried = body(iv, carried)`.
    /// Returns the induction variable and carried values as they leave the loop.
    @discardableResult
    func loop(_ name: String, from start: LLVMValueRef, step: Int64, carried initial: [LLVMValueRef] = [],
              while condition: (LLVMValueRef) -> LLVMValueRef,
              body: (LLVMValueRef, [LLVMValueRef]) throws -> [LLVMValueRef]) rethrows -> (iv: LLVMValueRef, carried: [LLVMValueRef]) {
        let b = builder, context = b.context
        let preheader = b.currentBlock
        let header = b.appendBlock(function, "\(name).header")
        let bodyBlock = b.appendBlock(function, "\(name).body")
        let exit = b.appendBlock(function, "\(name).exit")
        b.br(header)
        b.position(at: header)
        let iv = b.phi(LLVMTypeOf(start), name)
        let phis = initial.map { b.phi(LLVMTypeOf($0)) }
        b.addIncoming(iv, start, from: preheader)
        for (phi, value) in zip(phis, initial) { b.addIncoming(phi, value, from: preheader) }
        b.condBr(condition(iv), bodyBlock, exit)
        b.position(at: bodyBlock)
        let next = try body(iv, phis)
        let latch = b.currentBlock
        b.addIncoming(iv, b.add(iv, context.constInt(LLVMTypeOf(start), step)), from: latch)
        for (phi, value) in zip(phis, next) { b.addIncoming(phi, value, from: latch) }
        b.br(header)
        b.position(at: exit)
        return (iv, phis)
    }
}
