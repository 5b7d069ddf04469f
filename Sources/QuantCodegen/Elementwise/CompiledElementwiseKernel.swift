import CQuantSupport
import LLVMKit
import QuantOps
import QuantSchedule

/// A JIT-compiled elementwise kernel (`void f(const qf_elementwise_args *)`). It keeps no state:
/// calls may run concurrently.
public final class CompiledElementwiseKernel: @unchecked Sendable {
    public let instruction: DotInstruction
    public let code: JITCode

    init(instruction: DotInstruction, code: JITCode) {
        self.instruction = instruction
        self.code = code
    }

    /// Calls the kernel with no checks (the operator's wrapper checked every buffer).
    public func callUnchecked(x: UnsafeRawPointer?, x2: UnsafeRawPointer? = nil, y: UnsafeMutableRawPointer?,
                              extra: UnsafeMutableRawPointer? = nil, extra2: UnsafeMutableRawPointer? = nil,
                              begin: Int = 0, end: Int = 0) {
        var args = qf_elementwise_args(x: x, x2: x2, y: y, extra: extra, extra2: extra2, begin: Int64(begin), end: Int64(end))
        qf_call_elementwise_kernel(code.entry, &args)
    }
}

extension KernelCompiler {
    /// Compiles the elementwise kernel `emit` builds for `isa`'s instruction (its vector width
    /// and confining features), after checking the JIT's target can run it.
    public func compileElementwise(isa: ISA, _ emit: (Module, String, DotInstruction, String) -> IRValue) throws(QuantError)
        -> CompiledElementwiseKernel {
        let instruction = try InstructionTable.instruction(for: isa)
        try checkFeatures(instruction)
        let code = try compileFunction { module, machine in emit(module, "qf_kernel", instruction, machine.features) }
        return CompiledElementwiseKernel(instruction: instruction, code: code)
    }

    public func compile(_ op: QuantizeLinear, isa: ISA) throws(QuantError) -> CompiledElementwiseKernel {
        try compileElementwise(isa: isa) {
            QuantizeLinearEmitter(quantization: op.quantization, direction: .quantize).emit(into: $0, name: $1, instruction: $2, targetFeatures: $3)
        }
    }

    public func compile(_ op: FakeQuantize, isa: ISA) throws(QuantError) -> CompiledElementwiseKernel {
        try compileElementwise(isa: isa) {
            QuantizeLinearEmitter(quantization: op.quantization, direction: .fakeQuantize).emit(into: $0, name: $1, instruction: $2, targetFeatures: $3)
        }
    }

    public func compile(_ op: DequantizeLinear, isa: ISA) throws(QuantError) -> CompiledElementwiseKernel {
        try compileElementwise(isa: isa) {
            QuantizeLinearEmitter(quantization: op.quantization, direction: .dequantize).emit(into: $0, name: $1, instruction: $2, targetFeatures: $3)
        }
    }

    /// DynamicQuantizeLinear over rows of `op.columns` elements (the rows passed per call); with
    /// `parametersOnly`, only the scales and zero points are computed (the dynamic linear's
    /// matmul quantizes A itself while packing it).
    public func compile(_ op: DynamicQuantizeLinear, isa: ISA, parametersOnly: Bool = false) throws(QuantError) -> CompiledElementwiseKernel {
        try compileElementwise(isa: isa) {
            DynamicQuantizeEmitter(columns: op.columns, perRow: op.perRow, writesOutput: !parametersOnly)
                .emit(into: $0, name: $1, instruction: $2, targetFeatures: $3)
        }
    }

    public func compile(_ op: QLinearBinary, isa: ISA) throws(QuantError) -> CompiledElementwiseKernel {
        try compileElementwise(isa: isa) { BinaryEmitter(op: op).emit(into: $0, name: $1, instruction: $2, targetFeatures: $3) }
    }

    public func compile(_ op: BiasActivation, isa: ISA) throws(QuantError) -> CompiledElementwiseKernel {
        try compileElementwise(isa: isa) { BiasActivationEmitter(op: op).emit(into: $0, name: $1, instruction: $2, targetFeatures: $3) }
    }

    public func compile(_ op: QuantizedLookup, isa: ISA) throws(QuantError) -> CompiledElementwiseKernel {
        try compileElementwise(isa: isa) { LookupEmitter(op: op).emit(into: $0, name: $1, instruction: $2, targetFeatures: $3) }
    }
}
