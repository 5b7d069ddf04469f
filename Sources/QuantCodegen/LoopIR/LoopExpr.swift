/// An integer expression in the loop IR: loop bounds and tile positions. Symbolic in the kernel's
/// run-time arguments (`row_begin`, `row_end`, `panel_begin`, `panel_end`) and loop variables.
public indirect enum LoopExpr: Hashable, Sendable, CustomStringConvertible {
    case constant(Int)
    /// A kernel argument or an enclosing loop's variable.
    case variable(LoopSymbol)
    case add(LoopExpr, LoopExpr)
    case sub(LoopExpr, LoopExpr)
    case mul(LoopExpr, Int)
    /// Floor division by a positive constant (of a non-negative value).
    case div(LoopExpr, Int)
    case min(LoopExpr, LoopExpr)

    public static func + (a: LoopExpr, b: LoopExpr) -> LoopExpr { .add(a, b) }
    public static func - (a: LoopExpr, b: LoopExpr) -> LoopExpr { .sub(a, b) }
    public static func + (a: LoopExpr, b: Int) -> LoopExpr { b == 0 ? a : .add(a, .constant(b)) }

    /// The value under `environment` (variable → value). Unknown variables are a verifier error,
    /// reported by `variables`, so here they trap.
    public func evaluate(_ environment: [LoopSymbol: Int]) -> Int {
        switch self {
        case let .constant(value): value
        case let .variable(name): environment[name]!
        case let .add(a, b): a.evaluate(environment) + b.evaluate(environment)
        case let .sub(a, b): a.evaluate(environment) - b.evaluate(environment)
        case let .mul(a, factor): a.evaluate(environment) * factor
        case let .div(a, divisor): a.evaluate(environment) / divisor
        case let .min(a, b): Swift.min(a.evaluate(environment), b.evaluate(environment))
        }
    }

    /// Every variable the expression reads.
    public var variables: Set<LoopSymbol> {
        switch self {
        case .constant: []
        case let .variable(name): [name]
        case let .add(a, b), let .sub(a, b), let .min(a, b): a.variables.union(b.variables)
        case let .mul(a, _), let .div(a, _): a.variables
        }
    }

    public var description: String {
        switch self {
        case let .constant(value): "\(value)"
        case let .variable(symbol): symbol.name
        case let .add(a, b): "\(a) + \(b)"
        case let .sub(a, b): "\(a) - (\(b))"
        case let .mul(a, factor): "(\(a))·\(factor)"
        case let .div(a, divisor): "(\(a))/\(divisor)"
        case let .min(a, b): "min(\(a), \(b))"
        }
    }
}
