/// The last panel of B when it is narrower than the others: its stores (and residual loads) go
/// through stack tiles so that nothing passes column N.
public struct PartialPanel: Hashable, Sendable, CustomStringConvertible {
    /// The panel's index.
    public var index: Int
    /// Its valid columns.
    public var columns: Int

    public init(index: Int, columns: Int) {
        self.index = index
        self.columns = columns
    }

    public var description: String { "panel \(index) has \(columns) columns" }
}
