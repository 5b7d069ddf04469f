import LLVMKit
import QuantOps
import QuantSchedule

/// One kernel of any operator, as a value, and the one mapping from operators to their emitters:
/// the JIT (`KernelCompiler.compile` / `compileMatMul`), AOT (`AOTCompiler.compileOperator`,
/// `compileLibrary`) and the engine's kernel cache (its key) all go through it. Matmul-shaped
/// kernels take `qf_matmul_args`, the others `qf_elementwise_args`.
public enum OperatorKernel: Sendable, Hashable {
    case matmul(MatMul, MatMulSchedule, convolution: ConvolutionGeometry?)
    case quantize(QuantizeLinear)
    case dequantize(DequantizeLinear)
    case fakeQuantize(FakeQuantize)
    /// Over rows of `columns` elements; `parametersOnly` skips writing y.
    case dynamicQuantize(DynamicQuantizeLinear, parametersOnly: Bool)
    case binary(QLinearBinary)
    case lookup(QuantizedLookup)
    case biasActivation(BiasActivation)
    case depthwise(Conv2D)
    /// Channels of a depthwise convolution's weights packed for its kernel (AOT libraries' packer).
    case depthwisePack(Conv2D)
    case transpose(batch: Int, rows: Int, columns: Int, elementBytes: Int)
    /// Rows of an f32 linear layer over weights packed in `F32LinearLayout`.
    case f32Linear(F32Linear)
    /// Rows of a LayerNormalization (γ and β per call).
    case layerNorm(LayerNormalization)
    /// Rows of a Softmax (row length and valid columns per call).
    case softmax(Softmax)
    /// Panels of an `NBitsLinear` over weights packed in `NBitsLayout` (rows in `extra`).
    case nbitsLinear(NBitsLinear)
    /// Rows of A quantized per block for an int8-mode `NBitsLinear`.
    case nbitsQuantizeA(NBitsLinear)
    /// Panels of an `NBitsLinear`'s weights packed into `NBitsLayout` (JIT and AOT alike).
    case nbitsPack(NBitsLinear)
    /// Heads of a `QuantizedAttention`: Q, K, V quantized into y, then the scores into extra2
    /// (`AttentionScratch` in `extra`).
    case attentionScores(QuantizedAttention)
    /// Heads of a `QuantizedAttention`: P (x) quantized, then P·V with the scratch (x2) into y
    /// (`AttentionScratch` in `extra`).
    case attentionContext(QuantizedAttention)
    /// Heads of an `F32Attention`, fused: x = QKV rows, x2 = scratch, y = output rows (length in
    /// `extra`, valid keys in `extra2`).
    case f32Attention(F32Attention)

    /// A matmul kernel from its plan: lowered to the loop IR, then emitted.
    static func emitMatMul(_ plan: MatMulPlan, into module: Module, name: String, targetFeatures: String) throws -> IRValue {
        try MatMulKernelEmitter(try MatMulLowering.lower(plan, name: name)).emit(into: module, name: name, targetFeatures: targetFeatures)
    }

    /// The instruction the kernel is built around on `isa`: the ISA's matmul microkernel for
    /// matmuls and convolutions, its vector instruction for the rest (AVX-512 VNNI on AMX CPUs).
    public func instruction(for isa: ISA) throws(QuantError) -> DotInstruction {
        takesMatMulArguments ? try InstructionTable.instruction(for: isa) : try InstructionTable.vectorInstruction(for: isa)
    }

    /// True when the kernel's argument is `qf_matmul_args`.
    public var takesMatMulArguments: Bool { if case .matmul = self { true } else { false } }

    /// Adds the kernel as function `name` to `module` (for `isa`'s instruction, confined to it).
    public func emit(into module: Module, name: String, isa: ISA, targetFeatures: String) throws -> IRValue {
        let instruction = try InstructionTable.vectorInstruction(for: isa)
        switch self {
        case let .matmul(op, schedule, convolution):
            if schedule.isa != isa { throw QuantError.invalidSchedule(constraint: "schedule for \(schedule.isa), kernel for \(isa)") }
            return try Self.emitMatMul(MatMulPlan(op: op, schedule: schedule, convolution: convolution), into: module, name: name,
                                       targetFeatures: targetFeatures)
        case let .quantize(op):
            return QuantizeLinearEmitter(quantization: op.quantization, direction: .quantize)
                .emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .dequantize(op):
            return QuantizeLinearEmitter(quantization: op.quantization, direction: .dequantize)
                .emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .fakeQuantize(op):
            return QuantizeLinearEmitter(quantization: op.quantization, direction: .fakeQuantize)
                .emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .dynamicQuantize(op, parametersOnly):
            return DynamicQuantizeEmitter(columns: op.columns, perRow: op.perRow, writesOutput: !parametersOnly)
                .emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .binary(op):
            return BinaryEmitter(op: op).emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .lookup(op):
            return LookupEmitter(op: op).emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .biasActivation(op):
            return BiasActivationEmitter(op: op).emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .depthwise(conv):
            return try DepthwiseKernelEmitter(conv: conv).emit(into: module, name: name, instruction: instruction,
                                                               targetFeatures: targetFeatures)
        case let .depthwisePack(conv):
            return DepthwisePackEmitter(conv: conv).emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .f32Linear(op):
            return F32LinearEmitter(op: op, layout: try F32LinearLayout(op, isa: isa))
                .emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .nbitsLinear(op):
            return try NBitsLinearEmitter(layout: try NBitsLayout(op, isa: isa))
                .emit(into: module, name: name, instruction: try NBitsLayout.instruction(for: isa), targetFeatures: targetFeatures)
        case let .softmax(op):
            return SoftmaxEmitter(op: op).emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .layerNorm(op):
            return LayerNormEmitter(op: op).emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .nbitsPack(op):
            return NBitsPackEmitter(layout: try NBitsLayout(op, isa: isa))
                .emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .nbitsQuantizeA(op):
            return NBitsQuantizeAEmitter(layout: try NBitsLayout(op, isa: isa))
                .emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .attentionScores(op):
            return try AttentionScoresEmitter(op: op).emit(into: module, name: name, instruction: try AttentionScratch.instruction(for: isa),
                                                           targetFeatures: targetFeatures)
        case let .attentionContext(op):
            return try AttentionContextEmitter(op: op).emit(into: module, name: name, instruction: try AttentionScratch.instruction(for: isa),
                                                            targetFeatures: targetFeatures)
        case let .f32Attention(op):
            return F32AttentionEmitter(op: op).emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        case let .transpose(batch, rows, columns, elementBytes):
            return TransposeEmitter(batch: batch, rows: rows, columns: columns, elementBytes: elementBytes)
                .emit(into: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        }
    }
}

extension AOTCompiler {
    /// Compiles one operator kernel as function `symbol` into an object for `target` (its
    /// instruction checked against the target first).
    public static func compileOperator(_ kernel: OperatorKernel, isa: ISA, target: CodegenTarget, symbol: String) throws(QuantError) -> [UInt8] {
        try target.require(try kernel.instruction(for: isa))
        do {
            let machine = try TargetMachine(triple: target.triple, cpu: target.cpu, features: target.features)
            let module = MatMulModule.make(name: symbol, context: Context(), machine: machine)
            _ = try kernel.emit(into: module, name: symbol, isa: isa, targetFeatures: machine.features)
            try MatMulModule.finish(module, name: symbol, machine: machine)
            return try machine.emit(module, as: .object)
        } catch let error as QuantError {
            throw error
        } catch let error as LLVMError {
            throw .compilationFailed(stage: error.operation, message: error.message)
        } catch {
            throw .compilationFailed(stage: "aot", message: "\(error)")
        }
    }
}
