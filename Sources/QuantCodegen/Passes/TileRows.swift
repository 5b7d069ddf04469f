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
        func setRows(_ nodes: [LoopNode], _ rows: Int) -> [LoopNode] {
            nodes.map { node in
                switch node {
                case var .loop(loop):
                    loop.body = setRows(loop.body, rows)
                    return .loop(loop)
                case var .accumulate(tile) where tile.row == .variable("m"):
                    tile.rows = rows
                    return .accumulate(tile)
                case var .epilogue(tile) where tile.row == .variable("m"):
                    tile.rows = rows
                    return .epilogue(tile)
                default:
                    return node
                }
            }
        }
        func rewrite(_ nodes: [LoopNode]) -> [LoopNode] {
            nodes.flatMap { node -> [LoopNode] in
                guard case var .loop(loop) = node else { return [node] }
                guard loop.variable == "m", loop.step == 1, rowsPerTile > 1 else {
                    loop.body = rewrite(loop.body)
                    if loop.variable == "m" { tiled = true }
                    return [.loop(loop)]
                }
                tiled = true
                let whole = Loop("m", from: loop.start, to: loop.end, step: rowsPerTile, fullStepsOnly: true,
                                 body: setRows(loop.body, rowsPerTile))
                let leftover = Loop("m", from: whole.exitValue, to: loop.end, body: loop.body)
                return [.loop(whole), .loop(leftover)]
            }
        }
        var result = program
        result.body = rewrite(program.body)
        if !tiled { throw .compilationFailed(stage: "tileRows", message: "found no row loop m") }
        return result
    }
}
