import QuantSchedule

/// A loop: `for variable in start..<end step step`. With `fullStepsOnly`, it runs only while a
/// whole step fits (`variable + step <= end`); the leftover is another loop's job.
public struct Loop: Hashable, Sendable {
    public var variable: LoopSymbol
    public var start: LoopExpr
    public var end: LoopExpr
    public var step: Int
    public var fullStepsOnly: Bool
    public var body: [LoopNode]

    public init(_ variable: LoopSymbol, from start: LoopExpr, to end: LoopExpr, step: Int = 1, fullStepsOnly: Bool = false,
                body: [LoopNode]) {
        self.variable = variable
        self.start = start
        self.end = end
        self.step = step
        self.fullStepsOnly = fullStepsOnly
        self.body = body
    }

    /// Where a `fullStepsOnly` loop stops: `start + ⌊(end - start) / step⌋·step`.
    public var exitValue: LoopExpr { .add(start, .mul(.div(.sub(end, start), step), step)) }
}

/// A block of the output: `rows` rows starting at `row`, one column panel of B.
public struct OutputTile: Hashable, Sendable, CustomStringConvertible {
    public var row: LoopExpr
    public var rows: Int
    public var panel: LoopExpr

    public init(row: LoopExpr, rows: Int, panel: LoopExpr) {
        self.row = row
        self.rows = rows
        self.panel = panel
    }

    public var description: String { "C[\(row) +\(rows) rows, panel \(panel)]" }
}

/// A tensorized tile: the microkernel of `instruction`, `tile.rows` × `vectors` accumulator
/// vectors over the whole K (unrolled by `kUnroll`), with the epilogue fused into its stores or not.
public struct MicrokernelCall: Hashable, Sendable {
    public var tile: OutputTile
    public var instruction: DotInstruction.Kind
    public var vectors: Int
    public var kUnroll: Int
    public var epilogueFused: Bool
    /// The row the packed-A buffer starts at (the enclosing row block), nil when A is read as is.
    public var packedAFrom: LoopExpr? = nil
    /// Set when B's last panel is partial: stores to it go through a stack tile.
    public var partialPanel: PartialPanel? = nil
}

/// Brings rows [from, to) of A into the row block's buffers: gathers each row's receptive field
/// (implicit-GEMM convolution, `gather`), and/or widens rows into the packed-A buffer (one i32
/// operand per K group, for instructions that pack A).
public struct PackARows: Hashable, Sendable {
    public var from: LoopExpr
    public var to: LoopExpr
    /// How the rows are produced from the kernel's input, when A is not read as is.
    public enum Source: String, Hashable, Sendable {
        /// Convolution windows gathered from the NHWC input (im2col of this block only).
        case im2col
        /// f32 rows quantized to u8 with A's run-time parameters (dynamic quantized linear).
        case quantize
    }
    public var source: Source? = nil
    /// The rows are widened into the instruction's packed-A form.
    public var widen: Bool = true
    /// The most rows one block brings in (the size of its buffers).
    public var maxRows: Int
}

/// A node of the loop IR.
public indirect enum LoopNode: Hashable, Sendable {
    case loop(Loop)
    /// `acc(tile) = Σ_k A[tile rows, k] · B[k, tile panel]` over all of K, not yet tied to an
    /// instruction.
    case accumulate(OutputTile)
    /// The output mode applied to `acc(tile)` and stored to C.
    case epilogue(OutputTile)
    case microkernel(MicrokernelCall)
    case packA(PackARows)
}

/// The loop-IR form of one kernel: its body and the facts the passes and the verifier need.
public struct LoopProgram: Hashable, Sendable, CustomStringConvertible {
    public var body: [LoopNode]
    /// Panels of B in the whole kernel (for the verifier's sample runs).
    public var panels: Int
    /// The fixed M, or nil when M varies per call.
    public var fixedRows: Int?
    /// The stack buffers the body uses (declared by the last pass, `allocateBuffers`).
    public var buffers: [KernelBuffer] = []

    public init(body: [LoopNode], panels: Int, fixedRows: Int?) {
        self.body = body
        self.panels = panels
        self.fixedRows = fixedRows
    }

    /// The buffer with `role`, if the program declares one.
    public func buffer(_ role: KernelBuffer.Role) -> KernelBuffer? { buffers.first { $0.role == role } }

    public var description: String {
        var lines: [String] = []
        func emit(_ nodes: [LoopNode], _ depth: Int) {
            let pad = String(repeating: "  ", count: depth)
            for node in nodes {
                switch node {
                case let .loop(loop):
                    let step = loop.step == 1 ? "" : " step \(loop.step)"
                    lines.append("\(pad)for \(loop.variable) in \(loop.start)..<\(loop.end)\(step)\(loop.fullStepsOnly ? " (whole steps)" : ""):")
                    emit(loop.body, depth + 1)
                case let .accumulate(tile):
                    lines.append("\(pad)acc \(tile) = Σ_k A·B")
                case let .epilogue(tile):
                    lines.append("\(pad)store \(tile) = epilogue(acc)")
                case let .microkernel(call):
                    lines.append("\(pad)microkernel \(call.instruction.rawValue) \(call.tile) ×\(call.vectors) vectors, k unroll \(call.kUnroll)\(call.epilogueFused ? " + fused epilogue" : "")\(call.packedAFrom.map { ", A packed from row \($0)" } ?? "")\(call.partialPanel.map { ", \($0) (stored through a stack tile)" } ?? "")")
                case let .packA(rows):
                    let what = [rows.source?.rawValue, rows.widen ? "widen" : nil].compactMap { $0 }.joined(separator: " + ")
                    lines.append("\(pad)pack A rows \(rows.from)..<\(rows.to): \(what)")
                }
            }
        }
        lines += buffers.map(\.description)
        emit(body, 0)
        return lines.joined(separator: "\n")
    }
}
