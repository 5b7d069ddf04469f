/// How a matmul's output is split among threads: contiguous ranges of B panels when there are
/// enough of them (each thread then streams only its part of B), else ranges of rows aligned to
/// the register tile. Small problems are not split at all: waking a worker costs more than they do.
public struct WorkPartition: Sendable, Equatable {
    public let rows: [Range<Int>]
    public let panels: [Range<Int>]

    /// The (rows, panels) of task `i`.
    public func task(_ i: Int) -> (rows: Range<Int>, panels: Range<Int>) {
        (rows.count == 1 ? rows[0] : rows[i], panels.count == 1 ? panels[0] : panels[i])
    }

    public var taskCount: Int { max(rows.count, panels.count) }

    /// Multiply-accumulates below which one thread does everything.
    public static let minimumMACsToSplit = 1 << 18

    public static func matMul(rows m: Int, panels: Int, k: Int, panelWidth: Int, rowTile: Int, threads: Int) -> WorkPartition {
        let whole = WorkPartition(rows: [0..<m], panels: [0..<panels])
        guard threads > 1, m * panels * panelWidth * k >= minimumMACsToSplit else { return whole }
        if panels >= threads {
            return WorkPartition(rows: [0..<m], panels: split(panels, into: threads, granule: 1))
        }
        let tiles = (m + rowTile - 1) / rowTile
        guard tiles >= 2 else { return whole }
        return WorkPartition(rows: split(m, into: min(threads, tiles), granule: rowTile), panels: [0..<panels])
    }

    /// `count` split into `parts` contiguous ranges whose inner boundaries are multiples of `granule`.
    static func split(_ count: Int, into parts: Int, granule: Int) -> [Range<Int>] {
        let units = (count + granule - 1) / granule
        var ranges: [Range<Int>] = []
        var start = 0
        for part in 0..<parts {
            let endUnits = units * (part + 1) / parts
            let end = min(count, endUnits * granule)
            if end > start { ranges.append(start..<end) }
            start = end
        }
        return ranges
    }
}
