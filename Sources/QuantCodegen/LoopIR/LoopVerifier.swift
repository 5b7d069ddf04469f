import QuantOps

/// Checks a loop program after every pass:
/// - structure: every variable read is a kernel argument or an enclosing loop's variable, no loop
///   shadows another, steps and tile heights are positive;
/// - coverage: the program is run abstractly on sample row and panel ranges, and every
///   (row, panel) of the range must be accumulated exactly once and stored exactly once, after its
///   accumulation, and nothing outside the range may be touched;
/// - when `lowerable`, only microkernels with fused epilogues remain (what the LLVM lowering emits).
public enum LoopVerifier {
    public static func verify(_ program: LoopProgram, after pass: String, lowerable: Bool = false) throws(QuantError) {
        func fail(_ message: String) -> QuantError { .compilationFailed(stage: "loop IR verifier after \(pass)", message: message) }

        func checkStructure(_ nodes: [LoopNode], _ scope: Set<String>) throws(QuantError) {
            func need(_ expression: LoopExpr, _ context: String) throws(QuantError) {
                let unknown = expression.variables.subtracting(scope)
                if !unknown.isEmpty { throw fail("\(context) reads undefined \(unknown.sorted().joined(separator: ", "))") }
            }
            for node in nodes {
                switch node {
                case let .loop(loop):
                    if loop.step < 1 { throw fail("loop \(loop.variable) has step \(loop.step)") }
                    if scope.contains(loop.variable) { throw fail("loop \(loop.variable) shadows an enclosing variable") }
                    try need(loop.start, "start of loop \(loop.variable)")
                    try need(loop.end, "end of loop \(loop.variable)")
                    try checkStructure(loop.body, scope.union([loop.variable]))
                case let .accumulate(tile), let .epilogue(tile):
                    if lowerable { throw fail("\(tile) is not tensorized and fused; the LLVM lowering cannot emit it") }
                    if tile.rows < 1 { throw fail("\(tile) has \(tile.rows) rows") }
                    try need(tile.row, "\(tile)")
                    try need(tile.panel, "\(tile)")
                case let .microkernel(call):
                    if lowerable && !call.epilogueFused { throw fail("microkernel on \(call.tile) has no fused epilogue") }
                    if call.tile.rows < 1 || call.vectors < 1 || call.kUnroll < 1 { throw fail("degenerate microkernel \(call.tile)") }
                    try need(call.tile.row, "\(call.tile)")
                    try need(call.tile.panel, "\(call.tile)")
                }
            }
        }
        try checkStructure(program.body, LoopProgram.arguments)

        // Coverage on sample ranges (the fixed M, or a spread of dynamic ones, and sub-ranges as a
        // thread pool would pass them).
        let mValues = program.fixedRows.map { [$0] } ?? [1, 2, 3, 5, 7, 8, 13, 17, 31, 64, 97, 150]
        var ranges: [(rows: Range<Int>, panels: Range<Int>)] = []
        for m in mValues {
            ranges.append((0..<m, 0..<program.panels))
            if m > 2 { ranges.append((1..<(m - 1), (program.panels / 2)..<program.panels)) }
        }
        for (rows, panels) in ranges {
            var accumulated = [Int](repeating: 0, count: rows.count * panels.count)
            var stored = [Int](repeating: 0, count: rows.count * panels.count)
            func visit(_ tile: OutputTile, _ environment: [String: Int], accumulate: Bool, store: Bool) throws(QuantError) {
                let row = tile.row.evaluate(environment), panel = tile.panel.evaluate(environment)
                guard panels.contains(panel), rows.contains(row), rows.contains(row + tile.rows - 1) else {
                    throw fail("\(tile) touches rows \(row)..<\(row + tile.rows), panel \(panel) outside rows \(rows), panels \(panels)")
                }
                for r in row..<(row + tile.rows) {
                    let index = (r - rows.lowerBound) * panels.count + (panel - panels.lowerBound)
                    if accumulate { accumulated[index] += 1 }
                    if store {
                        if accumulated[index] != 1 { throw fail("row \(r), panel \(panel) stored before its accumulation") }
                        stored[index] += 1
                    }
                }
            }
            func run(_ nodes: [LoopNode], _ environment: [String: Int]) throws(QuantError) {
                for node in nodes {
                    switch node {
                    case let .loop(loop):
                        var value = loop.start.evaluate(environment)
                        let end = loop.end.evaluate(environment)
                        var environment = environment
                        while loop.fullStepsOnly ? value + loop.step <= end : value < end {
                            environment[loop.variable] = value
                            try run(loop.body, environment)
                            value += loop.step
                        }
                    case let .accumulate(tile): try visit(tile, environment, accumulate: true, store: false)
                    case let .epilogue(tile): try visit(tile, environment, accumulate: false, store: true)
                    case let .microkernel(call): try visit(call.tile, environment, accumulate: true, store: call.epilogueFused)
                    }
                }
            }
            try run(program.body, ["row_begin": rows.lowerBound, "row_end": rows.upperBound,
                                   "panel_begin": panels.lowerBound, "panel_end": panels.upperBound])
            if let bad = accumulated.firstIndex(where: { $0 != 1 }) {
                throw fail("rows \(rows), panels \(panels): row \(rows.lowerBound + bad / panels.count), panel \(panels.lowerBound + bad % panels.count) accumulated \(accumulated[bad]) times")
            }
            if let bad = stored.firstIndex(where: { $0 != 1 }) {
                throw fail("rows \(rows), panels \(panels): row \(rows.lowerBound + bad / panels.count), panel \(panels.lowerBound + bad % panels.count) stored \(stored[bad]) times")
            }
        }
    }
}
