/// Rewriting loop programs, as Halide's `IRMutator`: a pass states its rule for the nodes it cares
/// about, and the traversal (into loop bodies, rebuilding what changed) is written here once.
extension Array where Element == LoopNode {
    /// Visits nodes top-down. `rule` returns the node's replacement (zero, one or several nodes,
    /// not visited again), or nil to keep the node and, for a loop, visit its body.
    public func rewritten<E: Error>(_ rule: (LoopNode) throws(E) -> [LoopNode]?) throws(E) -> [LoopNode] {
        var result: [LoopNode] = []
        result.reserveCapacity(count)
        for node in self {
            if let replacement = try rule(node) {
                result += replacement
            } else if case var .loop(loop) = node {
                loop.body = try loop.body.rewritten(rule)
                result.append(.loop(loop))
            } else {
                result.append(node)
            }
        }
        return result
    }

    /// Rewrites every node list (the program's body and each loop's body, innermost first) as a
    /// whole: for rules about neighbouring nodes.
    public func rewrittenLists(_ rule: ([LoopNode]) -> [LoopNode]) -> [LoopNode] {
        rule(map { node in
            guard case var .loop(loop) = node else { return node }
            loop.body = loop.body.rewrittenLists(rule)
            return .loop(loop)
        })
    }

    /// Visits every node, at any depth, parents before their bodies.
    public func forEachNode(_ visit: (LoopNode) -> Void) {
        for node in self {
            visit(node)
            if case let .loop(loop) = node { loop.body.forEachNode(visit) }
        }
    }

    /// Whether some node, at any depth, satisfies `predicate`.
    public func containsNode(where predicate: (LoopNode) -> Bool) -> Bool {
        contains { node in
            if predicate(node) { return true }
            if case let .loop(loop) = node { return loop.body.containsNode(where: predicate) }
            return false
        }
    }
}

extension LoopProgram {
    /// The program with its body rewritten by `rule` (see `Array<LoopNode>.rewritten`).
    public func rewritten<E: Error>(_ rule: (LoopNode) throws(E) -> [LoopNode]?) throws(E) -> LoopProgram {
        var result = self
        result.body = try body.rewritten(rule)
        return result
    }

    /// The program with each node list rewritten by `rule` (see `Array<LoopNode>.rewrittenLists`).
    public func rewrittenLists(_ rule: ([LoopNode]) -> [LoopNode]) -> LoopProgram {
        var result = self
        result.body = body.rewrittenLists(rule)
        return result
    }
}
