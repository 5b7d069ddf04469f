import QuantOps
import QuantSchedule

/// One matmul kernel, decided and validated once: the operator, the schedule, the instruction the
/// schedule names, the packed-weight layout, how the operands are shifted into the instruction's
/// domains, and how row blocks produce A. The lowering's only input (`MatMulLowering.lower`);
/// callers that only need to know whether a schedule works for an operator build a plan.
public struct MatMulPlan: Sendable {
    public let op: MatMul
    public let schedule: MatMulSchedule
    public let instruction: DotInstruction
    public let layout: PackedLayout
    public let adjustment: OperandAdjustment
    /// Set for an implicit-GEMM convolution: A's rows are gathered from the input per row block.
    public let convolution: ConvolutionGeometry?

    public init(op: MatMul, schedule: MatMulSchedule, convolution: ConvolutionGeometry? = nil) throws(QuantError) {
        self.op = op
        self.schedule = schedule
        self.convolution = convolution
        instruction = try schedule.instruction()
        let layout = try schedule.layout(k: op.k, n: op.n)
        self.layout = op.aQuantMode.isRunTime ? layout.withColumnSums() : layout
        adjustment = OperandAdjustment(op: op, instruction: instruction)
        try schedule.validate(rowSums: adjustment.needsRowSums)
        if let convolution, convolution.rowBytes != op.k {
            throw .invalidShape(field: "K", reason: "K = \(op.k) is not the window of \(convolution)")
        }
        if convolution != nil && op.aType == .f32 {
            throw .invalidSchedule(constraint: "a convolution's input is quantized (f32 A is for the dynamic linear)")
        }
        if producedA != nil && schedule.rowBlock * op.k > MatMulSchedule.producedABytesLimit {
            throw .invalidSchedule(constraint: "a row block of \(schedule.rowBlock) produced rows of \(op.k) bytes exceeds \(MatMulSchedule.producedABytesLimit) bytes")
        }
    }

    /// How row blocks produce A's rows: gathered windows (convolution), quantized f32 rows, or
    /// nil when A is read as is.
    public var producedA: PackARows.Source? {
        convolution != nil ? .im2col : (op.aType == .f32 ? .quantize : nil)
    }

    /// True when the row blocks widen A into the instruction's packed form.
    public var widensA: Bool { instruction.packsA(rowBlock: schedule.rowBlock, k: op.k) }
}
