/// A name a loop-IR expression reads: one of the kernel's run-time arguments or a loop's variable.
/// The names the matmul lowering uses are declared here, once; passes refer to them by these
/// constants, never by spelling.
public struct LoopSymbol: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let name: String
    public init(_ name: String) { self.name = name }

    // The kernel's run-time arguments: the row and panel range one call covers.
    public static let rowBegin = LoopSymbol("row_begin")
    public static let rowEnd = LoopSymbol("row_end")
    public static let panelBegin = LoopSymbol("panel_begin")
    public static let panelEnd = LoopSymbol("panel_end")
    /// The variables a program may read without defining them.
    public static let arguments: Set<LoopSymbol> = [.rowBegin, .rowEnd, .panelBegin, .panelEnd]

    // The loop variables of the matmul nest.
    /// An output row (or the first row of a row tile).
    public static let row = LoopSymbol("m")
    /// A column panel of packed B.
    public static let panel = LoopSymbol("p")
    /// The first row of a cache block of rows.
    public static let rowBlock = LoopSymbol("rb")
    /// The first panel of a cache block of panels.
    public static let panelBlock = LoopSymbol("pb")

    public var description: String { name }
    public static func < (a: LoopSymbol, b: LoopSymbol) -> Bool { a.name < b.name }
}
