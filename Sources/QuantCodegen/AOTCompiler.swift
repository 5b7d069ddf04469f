import CLLVM
import LLVMKit
import QuantOps
import QuantSchedule

/// A kernel compiled ahead of time: a relocatable object exporting `void symbol(const
/// qf_matmul_args *)`, and what a host needs to call it.
public struct AOTKernel: Sendable {
    public let op: MatMul
    public let schedule: MatMulSchedule
    public let target: CodegenTarget
    public let symbol: String
    public let layout: PackedLayout
    public let instruction: DotInstruction
    /// The ELF (or other object format) bytes.
    public let object: [UInt8]

    /// Packs B for this kernel on the host (packing is target-independent).
    public func packWeights(_ b: UnsafeRawBufferPointer, rowStride: Int? = nil) throws(QuantError) -> PackedWeights {
        try WeightPacker.pack(op, b: b, ldb: rowStride ?? op.n, instruction: instruction, layout: layout, signature: symbol)
    }
}

/// Compiles kernels into object files for any target LLVM was built with.
public enum AOTCompiler {
    public static func compileMatMul(_ op: MatMul, schedule: MatMulSchedule, target: CodegenTarget,
                                     symbol: String) throws(QuantError) -> AOTKernel {
        let emitter = try MatMulKernelEmitter(op: op, schedule: schedule)
        try target.require(emitter.instruction)
        do {
            let machine = try TargetMachine(triple: target.triple, cpu: target.cpu, features: target.features)
            let context = Context()
            let module = try MatMulModule.build(emitter, name: symbol, context: context, machine: machine)
            let object = try machine.emit(module, as: .object)
            return AOTKernel(op: op, schedule: schedule, target: target, symbol: symbol, layout: emitter.layout,
                             instruction: emitter.instruction, object: object)
        } catch let error as QuantError {
            throw error
        } catch let error as LLVMError {
            throw .compilationFailed(stage: error.operation, message: error.message)
        } catch {
            throw .compilationFailed(stage: "aot", message: "\(error)")
        }
    }
}

/// Builds, verifies and optimizes the LLVM module of one matmul kernel for a target machine: the
/// steps the JIT and AOT share.
enum MatMulModule {
    static let irPipeline = ProcessInfoEnvironment.value("QFORGE_LLVM_PASSES") ?? "instcombine,simplifycfg"

    static func build(_ emitter: MatMulKernelEmitter, name: String, context: Context, machine: TargetMachine,
                      phase: (String) -> Void = { _ in }) throws -> Module {
        let module = Module(name: name, context: context)
        module.triple = machine.triple
        module.setDataLayout(of: machine)
        _ = try emitter.emit(into: module, name: name, targetFeatures: machine.features)
        phase("emit")
        IRDump.write("llvm", name, module.irText)
        try module.verify()
        phase("verify")
        if !irPipeline.isEmpty {
            try PassPipeline.run(irPipeline, on: module, for: machine)
            phase("passes")
            IRDump.write("llvm-opt", name, module.irText)
        }
        if IRDump.enabled("asm") {
            let assembly = try machine.emit(module, as: .assembly)
            IRDump.write("asm", name, String(decoding: assembly, as: UTF8.self))
        }
        return module
    }
}
