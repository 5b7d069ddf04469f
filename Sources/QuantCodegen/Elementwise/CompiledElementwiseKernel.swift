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
    /// Compiles one kernel that takes `qf_elementwise_args` (every operator kernel but the
    /// matmul-shaped ones, which `compileMatMul` compiles) for `isa`'s instruction, after checking
    /// the JIT's target can run it. The code comes from `OperatorKernel.emit`, the one mapping from
    /// operators to emitters, and through `compileFunction`'s live-code sharing and disk cache.
    public func compile(_ kernel: OperatorKernel, isa: ISA) throws(QuantError) -> CompiledElementwiseKernel {
        if kernel.takesMatMulArguments {
            throw .invalidSpec(path: "kernel", reason: "a matmul-shaped kernel is compiled by compileMatMul")
        }
        let instruction = try InstructionTable.vectorInstruction(for: isa)
        try checkFeatures(instruction)
        let code = try compileFunction { module, machine in
            try kernel.emit(into: module, name: "qf_kernel", isa: isa, targetFeatures: machine.features)
        }
        return CompiledElementwiseKernel(instruction: instruction, code: code)
    }
}
