/// Products of numbers that come from outside (shapes, strides, counts), checked: a product that
/// overflows is nil, never a trap or a wrapped small number.
public enum CheckedArithmetic {
    /// The product of `factors`, or nil when it overflows `Int` or a factor is negative.
    public static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// The sum of `terms`, or nil when it overflows.
    public static func sum(_ terms: [Int]) -> Int? {
        var result = 0
        for term in terms {
            let (next, overflow) = result.addingReportingOverflow(term)
            if overflow { return nil }
            result = next
        }
        return result
    }
}
