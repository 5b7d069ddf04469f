import LLVMKit

/// Emits counted loops in SSA form: the induction variable and loop-carried values are phis in the
/// header, so no alloca or mem2reg is needed (and compile time stays low).
struct LoopBuilder {
    let builder: IRBuilder
    let function: IRValue

    /// `for (iv = start; condition(iv); iv += step) carried = body(iv, carried)`.
    /// Returns the induction variable and carried values as they leave the loop.
    @discardableResult
    func loop(_ name: String, from start: IRValue, step: Int64, carried initial: [IRValue] = [],
              while condition: (IRValue) -> IRValue,
              body: (IRValue, [IRValue]) throws -> [IRValue]) rethrows -> (iv: IRValue, carried: [IRValue]) {
        let b = builder, context = b.context
        let preheader = b.currentBlock
        let header = b.appendBlock(function, "\(name).header")
        let bodyBlock = b.appendBlock(function, "\(name).body")
        let exit = b.appendBlock(function, "\(name).exit")
        b.br(header)
        b.position(at: header)
        let iv = b.phi(context.type(of: start), name)
        let phis = initial.map { b.phi(context.type(of: $0)) }
        b.addIncoming(iv, start, from: preheader)
        for (phi, value) in zip(phis, initial) { b.addIncoming(phi, value, from: preheader) }
        b.condBr(condition(iv), bodyBlock, exit)
        b.position(at: bodyBlock)
        let next = try body(iv, phis)
        let latch = b.currentBlock
        b.addIncoming(iv, b.add(iv, context.constInt(context.type(of: start), step)), from: latch)
        for (phi, value) in zip(phis, next) { b.addIncoming(phi, value, from: latch) }
        b.br(header)
        b.position(at: exit)
        return (iv, phis)
    }
}
