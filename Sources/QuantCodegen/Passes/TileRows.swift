import QuantOps
import QuantSchedule

/// Pass 4: register tiling of rows. The row loop becomes whole tiles of `rowsPerTile` (MR) rows,
/// then the leftover rows as tiles of 4 and 2 rows (each loop at most once) and one-row tiles.
/// ```
/// for m in s..<e step MR (whole steps):  ... C[m +MR rows, p] ...
/// for m in ...        step 4 (whole steps): ... C[m +4 rows, p] ...   (MR > 4)
/// for m in ...        step 2 (whole steps): ... C[m +2 rows, p] ...   (MR > 2)
/// for m in ...:                            ... C[m +1 row, p] ...
/// ```
/// One-row tiles wait on their few accumulators' dot-product latency and load B for one row each:
/// 4 leftover rows of 196×1024×256 (a ResNet-50 1×1 layer) cost 2.5× a whole tile's rows one by
/// one (Zen 5). For tile instructions (AMX), whose every call costs a whole tile, the leftover
/// rows run as tiles of 16, 8, 4, 2 and 1 rows (each loop at most once but the 16-row one).
enum TileRows {
    static func run(_ program: LoopProgram, rowsPerTile: Int, instruction: DotInstruction) throws(QuantError) -> LoopProgram {
        let heights = (instruction.usesTiles ? [instruction.rowsPerInstruction, 8, 4, 2] : [4, 2]).filter { $0 < rowsPerTile }
        var tiled = false
        let result = program.rewritten { node -> [LoopNode]? in
            guard case let .loop(loop) = node, loop.variable == .row else { return nil }
            tiled = true
            guard loop.step == 1, rowsPerTile > 1 else { return [node] }
            var loops = [Loop(.row, from: loop.start, to: loop.end, step: rowsPerTile, fullStepsOnly: true,
                              body: withTileHeight(loop.body, rowsPerTile))]
            for height in heights {
                loops.append(Loop(.row, from: loops.last!.exitValue, to: loop.end, step: height, fullStepsOnly: true,
                                  body: withTileHeight(loop.body, height)))
            }
            loops.append(Loop(.row, from: loops.last!.exitValue, to: loop.end, body: loop.body))
            return loops.map { .loop($0) }
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
