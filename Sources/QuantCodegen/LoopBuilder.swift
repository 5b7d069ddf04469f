import LLVMKit

/// Emits counted loops and two-way branches in SSA form: the induction variable, loop-carried
/// values and a branch's result are phis, so no alloca or mem2reg is needed (and compile time
/// stays low).
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

    /// `condition ? then() : otherwise()` as two blocks and a phi of their values (`name.then`,
    /// `name.else`, `name.merge`); the builder is left in the merge block.
    func branch(_ name: String, _ condition: IRValue, then: () -> IRValue, otherwise: () -> IRValue) -> IRValue {
        let b = builder
        let yes = b.appendBlock(function, "\(name).then"), no = b.appendBlock(function, "\(name).else")
        let merge = b.appendBlock(function, "\(name).merge")
        b.condBr(condition, yes, no)
        b.position(at: yes)
        let first = then(), firstBlock = b.currentBlock
        b.br(merge)
        b.position(at: no)
        let second = otherwise(), secondBlock = b.currentBlock
        b.br(merge)
        b.position(at: merge)
        let value = b.phi(b.context.type(of: first))
        b.addIncoming(value, first, from: firstBlock)
        b.addIncoming(value, second, from: secondBlock)
        return value
    }

    /// `if condition { then() } else { otherwise() }`; the builder is left after both.
    func branch(_ name: String, _ condition: IRValue, then: () -> Void, otherwise: () -> Void) {
        let b = builder
        let yes = b.appendBlock(function, "\(name).then"), no = b.appendBlock(function, "\(name).else")
        let merge = b.appendBlock(function, "\(name).merge")
        b.condBr(condition, yes, no)
        b.position(at: yes)
        then()
        b.br(merge)
        b.position(at: no)
        otherwise()
        b.br(merge)
        b.position(at: merge)
    }
}
