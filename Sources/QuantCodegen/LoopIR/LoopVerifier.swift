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

        func checkStructure(_ nodes: [LoopNode], _ scope: Set<LoopSymbol>, packed: Bool = false) throws(QuantError) {
            func need(_ expression: LoopExpr, _ context: String) throws(QuantError) {
                let unknown = expression.variables.subtracting(scope)
                if !unknown.isEmpty { throw fail("\(context) reads undefined \(unknown.sorted().map(\.name).joined(separator: ", "))") }
            }
            for node in nodes {
                switch node {
                case let .loop(loop):
                    if loop.step < 1 { throw fail("loop \(loop.variable) has step \(loop.step)") }
                    if scope.contains(loop.variable) { throw fail("loop \(loop.variable) shadows an enclosing variable") }
                    try need(loop.start, "start of loop \(loop.variable)")
                    try need(loop.end, "end of loop \(loop.variable)")
                    let packs = loop.body.contains { if case .packA = $0 { return true } else { return false } }
                    try checkStructure(loop.body, scope.union([loop.variable]), packed: packed || packs)
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
                    if let from = call.packedAFrom {
                        if !packed { throw fail("microkernel on \(call.tile) reads packed A outside a block that packs it") }
                        try need(from, "packed-A origin of \(call.tile)")
                    }
                case let .packA(rows):
                    try need(rows.from, "pack A")
                    try need(rows.to, "pack A")
                }
            }
        }
        try checkStructure(program.body, LoopSymbol.arguments)

        // Coverage on sample ranges. The program is symbolic in its row and panel range, so samples
        // around each loop step (s - 1, s + 1, 2s + 1: below and past every tile and block
        // boundary), the fixed M, and sub-ranges as a thread pool passes them exercise every path.
        // Each sample enumerates about 512 (row, panel) cells at most (but always a whole row range).
        var steps: Set<Int> = []
        func collectSteps(_ nodes: [LoopNode]) {
            for case let .loop(loop) in nodes {
                steps.insert(loop.step)
                collectSteps(loop.body)
            }
        }
        collectSteps(program.body)
        var rowSamples: Set<Int> = [1, 2, 3]
        for step in steps where step > 1 { rowSamples.formUnion([step - 1, step + 1, 2 * step + 1]) }
        if let m = program.fixedRows { rowSamples.insert(m) }
        var ranges: [(rows: Range<Int>, panels: Range<Int>)] = []
        for m in rowSamples.sorted() where m >= 1 && m <= 4096 {
            let panels = min(program.panels, max(1, 512 / m))
            ranges.append((0..<m, 0..<panels))
            if m > 2 { ranges.append((1..<(m - 1), (panels / 2)..<panels)) }
        }
        // Resolve variables to slots once, so that the sample runs cost nanoseconds per tile.
        var slots: [LoopSymbol: Int] = [:]
        for name in LoopSymbol.arguments.sorted() { slots[name] = slots.count }
        func collect(_ nodes: [LoopNode]) {
            for case let .loop(loop) in nodes {
                if slots[loop.variable] == nil { slots[loop.variable] = slots.count }
                collect(loop.body)
            }
        }
        collect(program.body)
        let compiled = CompiledLoops(program.body, slots: slots)
        for (rows, panels) in ranges {
            var accumulated = [Int](repeating: 0, count: rows.count * panels.count)
            var stored = [Int](repeating: 0, count: rows.count * panels.count)
            var environment = [Int](repeating: 0, count: slots.count)
            environment[slots[.rowBegin]!] = rows.lowerBound
            environment[slots[.rowEnd]!] = rows.upperBound
            environment[slots[.panelBegin]!] = panels.lowerBound
            environment[slots[.panelEnd]!] = panels.upperBound
            var failure: String? = nil
            compiled.run(&environment) { tile, row, panel, accumulate, store in
                guard failure == nil else { return }
                guard panels.contains(panel), rows.contains(row), rows.contains(row + tile.rows - 1) else {
                    failure = "\(tile) touches rows \(row)..<\(row + tile.rows), panel \(panel) outside rows \(rows), panels \(panels)"
                    return
                }
                for r in row..<(row + tile.rows) {
                    let index = (r - rows.lowerBound) * panels.count + (panel - panels.lowerBound)
                    if accumulate { accumulated[index] += 1 }
                    if store {
                        if accumulated[index] != 1 { failure = "row \(r), panel \(panel) stored before its accumulation"; return }
                        stored[index] += 1
                    }
                }
            }
            if let failure { throw fail(failure) }
            if let bad = accumulated.firstIndex(where: { $0 != 1 }) {
                throw fail("rows \(rows), panels \(panels): row \(rows.lowerBound + bad / panels.count), panel \(panels.lowerBound + bad % panels.count) accumulated \(accumulated[bad]) times")
            }
            if let bad = stored.firstIndex(where: { $0 != 1 }) {
                throw fail("rows \(rows), panels \(panels): row \(rows.lowerBound + bad / panels.count), panel \(panels.lowerBound + bad % panels.count) stored \(stored[bad]) times")
            }
        }
    }
}

/// A loop program prepared for fast abstract runs: expressions compiled to closures over an array
/// of variable slots.
private struct CompiledLoops {
    typealias Expression = ([Int]) -> Int
    indirect enum Node {
        case loop(slot: Int, start: Expression, end: Expression, step: Int, wholeSteps: Bool, body: [Node])
        case tile(OutputTile, row: Expression, panel: Expression, accumulate: Bool, store: Bool)
        /// Packing touches no output: nothing to count.
        case packing
    }
    let nodes: [Node]

    init(_ body: [LoopNode], slots: [LoopSymbol: Int]) {
        func compile(_ expression: LoopExpr) -> Expression {
            switch expression {
            case let .constant(value): return { _ in value }
            case let .variable(name): let slot = slots[name]!; return { $0[slot] }
            case let .add(a, b): let (x, y) = (compile(a), compile(b)); return { x($0) + y($0) }
            case let .sub(a, b): let (x, y) = (compile(a), compile(b)); return { x($0) - y($0) }
            case let .mul(a, factor): let x = compile(a); return { x($0) * factor }
            case let .div(a, divisor): let x = compile(a); return { x($0) / divisor }
            case let .min(a, b): let (x, y) = (compile(a), compile(b)); return { Swift.min(x($0), y($0)) }
            }
        }
        func convert(_ nodes: [LoopNode]) -> [Node] {
            nodes.map { node in
                switch node {
                case let .loop(loop):
                    return .loop(slot: slots[loop.variable]!, start: compile(loop.start), end: compile(loop.end), step: loop.step,
                                 wholeSteps: loop.fullStepsOnly, body: convert(loop.body))
                case let .accumulate(tile):
                    return .tile(tile, row: compile(tile.row), panel: compile(tile.panel), accumulate: true, store: false)
                case let .epilogue(tile):
                    return .tile(tile, row: compile(tile.row), panel: compile(tile.panel), accumulate: false, store: true)
                case let .microkernel(call):
                    return .tile(call.tile, row: compile(call.tile.row), panel: compile(call.tile.panel), accumulate: true,
                                 store: call.epilogueFused)
                case .packA:
                    return .packing
                }
            }
        }
        nodes = convert(body)
    }

    func run(_ environment: inout [Int], _ visit: (OutputTile, Int, Int, Bool, Bool) -> Void) {
        func run(_ nodes: [Node]) {
            for node in nodes {
                switch node {
                case let .loop(slot, start, end, step, wholeSteps, body):
                    var value = start(environment)
                    let limit = end(environment)
                    while wholeSteps ? value + step <= limit : value < limit {
                        environment[slot] = value
                        run(body)
                        value += step
                    }
                case let .tile(tile, row, panel, accumulate, store):
                    visit(tile, row(environment), panel(environment), accumulate, store)
                case .packing:
                    break
                }
            }
        }
        run(nodes)
    }
}
