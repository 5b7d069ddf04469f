import QuantOps

/// Pass 4: register tiling of rows. The row loop becomes whole tiles of `rowsPerTile` (MR) rows
/// and a leftover loop of one-row tiles.
/// ```
/// for m in s..<e step MR (whole steps): ... C[m +MR rows, p] ...
/// for m in s + ⌊(e - s)/MR⌋·MR..<e:       ... C[m +1 row, p] ...
/// ```
enum TileRows {
    static func run(_ program: LoopProgram, rowsPerTile: Int) throws(QuantError) -> LoopProgram {
        var tiled = false
        let result = program.rewritten { node -> [LoopNode]? in
            guard case let .loop(loop) = node, loop.variable == .row else { return nil }
            tiled = true
            guard loop.step == 1, rowsPerTile > 1 else { return [node] }
            let whole = Loop(.row, from: loop.start, to: loop.end, step: rowsPerTile, fullStepsOnly: true,
                             body: withTileHeight(loop.body, rowsPerTile))
            let leftover = Loop(.row, from: whole.exitValue, to: loop.end, body: loop.body)
            return [.loop(whole), .loop(leftover)]
        }
        if !tiled { throw .compilationFailed(stage: "tileRows", message: "found no row loop \(LoopSymbol.row)") }
        return result
    }

    /// The tiles that start at the row variable, `rows` high.
    private static func withTileHeight(_ nodes: [LoopNode], _ rows: Int) -> [LoopNode] {
        nodes.rewritten { node -> [LoopNode]? in
            switch node {
            case var .accumulate(tile) where tile.row == .variable(.row):
                tile.rows = rows
                return [.accumulate(tile)]
            case var .epilogue(tile) where tile.row == .variable(.row):
                tile.rows = rows
                return [.epilogue(tile)]
            default:
                return nil
            }
        }
    }
}
