import Foundation
import LLVMKit
import QuantOps
import QuantSchedule

/// One kernel of an AOT library: the op, how it was scheduled, and its exported symbols
/// `void symbol(const qf_matmul_args *)` and `void packSymbol(const void *b, int64_t ldb, void *packed)`.
public struct AOTKernel: Sendable {
    public let op: MatMul
    public let schedule: MatMulSchedule
    public let target: CodegenTarget
    public let symbol: String
    public let layout: PackedLayout
    public let instruction: DotInstruction
    public var packSymbol: String { symbol + "_pack" }

    /// Packs B for this kernel on the host (packing is target-independent).
    public func packWeights(_ b: UnsafeRawBufferPointer, rowStride: Int? = nil) throws(QuantError) -> PackedWeights {
        try WeightPacker.pack(op, b: b, ldb: rowStride ?? op.n, instruction: instruction, layout: layout, signature: symbol)
    }
}

/// What to compile: a kernel name (its symbol) and the op and schedule.
public struct AOTRequest: Sendable {
    public var symbol: String
    public var op: MatMul
    public var schedule: MatMulSchedule

    public init(symbol: String, op: MatMul, schedule: MatMulSchedule) {
        self.symbol = symbol
        self.op = op
        self.schedule = schedule
    }
}

/// One operator kernel of an AOT library (any `OperatorKernel`), compiled for `isa` as function
/// `symbol`: `void symbol(const qf_elementwise_args *)`, or for matmul-shaped kernels
/// `void symbol(const qf_matmul_args *)` with its packing routine `symbol_pack`.
public struct AOTOperatorRequest: Sendable {
    public var symbol: String
    public var kernel: OperatorKernel
    public var isa: ISA

    public init(symbol: String, kernel: OperatorKernel, isa: ISA) {
        self.symbol = symbol
        self.kernel = kernel
        self.isa = isa
    }
}

/// Several kernels compiled into one relocatable object for one target.
public struct AOTLibrary: Sendable {
    public let target: CodegenTarget
    public let kernels: [AOTKernel]
    /// The packed layout of each matmul-shaped operator kernel, by symbol.
    public let operatorLayouts: [String: PackedLayout]
    /// The object file's bytes (ELF on Linux targets). The same requests give the same bytes.
    public let object: [UInt8]
}

/// Compiles kernels into object files for any target LLVM was built with.
public enum AOTCompiler {
    /// Compiles every request, with its packing routine, into one object. Each instruction is
    /// checked against the target before any code is emitted.
    /// `operators` are compiled into the same object (matmul-shaped ones with their packing routine).
    public static func compileLibrary(_ requests: [AOTRequest], operators: [AOTOperatorRequest] = [], target: CodegenTarget,
                                      moduleName: String = "quantforge_kernels") throws(QuantError) -> AOTLibrary {
        var plans: [(AOTRequest, MatMulPlan)] = []
        for request in requests {
            guard request.symbol.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw .invalidShape(field: "symbol", reason: "'\(request.symbol)' is not a C identifier")
            }
            let plan = try MatMulPlan(op: request.op, schedule: request.schedule)
            try target.require(plan.instruction)
            plans.append((request, plan))
        }
        var operatorPlans: [String: MatMulPlan] = [:]
        for request in operators {
            guard request.symbol.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw .invalidShape(field: "symbol", reason: "'\(request.symbol)' is not a C identifier")
            }
            try target.require(try request.kernel.instruction(for: request.isa))
            if case let .matmul(op, schedule, convolution) = request.kernel {
                operatorPlans[request.symbol] = try MatMulPlan(op: op, schedule: schedule, convolution: convolution)
            }
        }
        let symbols = requests.map(\.symbol) + operators.map(\.symbol)
        if Set(symbols).count != symbols.count { throw .invalidShape(field: "symbol", reason: "kernel names must be unique") }
        for request in requests {
            // The AOT headers' argument struct stops at panel_end: no residual, no run-time A.
            if request.op.aQuantMode.isRunTime {
                throw .invalidSpec(path: request.symbol, reason: "ahead-of-time kernels take constant A parameters (run-time A quantization is JIT only)")
            }
            if case let .chain(chain) = request.op.output, chain.residual != nil {
                throw .invalidSpec(path: request.symbol, reason: "ahead-of-time kernels do not take a residual input (JIT only)")
            }
        }
        do {
            let machine = try TargetMachine(triple: target.triple, cpu: target.cpu, features: target.features)
            let module = MatMulModule.make(name: moduleName, context: Context(), machine: machine)
            for (request, plan) in plans {
                _ = try OperatorKernel.emitMatMul(plan, into: module, name: request.symbol, targetFeatures: machine.features)
                PackingRoutineEmitter(plan).emit(into: module, name: request.symbol + "_pack", targetFeatures: machine.features)
            }
            for request in operators {
                if let plan = operatorPlans[request.symbol] {
                    _ = try OperatorKernel.emitMatMul(plan, into: module, name: request.symbol, targetFeatures: machine.features)
                    PackingRoutineEmitter(plan).emit(into: module, name: request.symbol + "_pack", targetFeatures: machine.features)
                } else {
                    _ = try request.kernel.emit(into: module, name: request.symbol, isa: request.isa, targetFeatures: machine.features)
                }
            }
            try MatMulModule.finish(module, name: moduleName, machine: machine)
            let kernels = plans.map { request, plan in
                AOTKernel(op: request.op, schedule: request.schedule, target: target, symbol: request.symbol,
                          layout: plan.layout, instruction: plan.instruction)
            }
            return AOTLibrary(target: target, kernels: kernels, operatorLayouts: operatorPlans.mapValues(\.layout),
                              object: try machine.emit(module, as: .object))
        } catch let error as LLVMError {
            throw .compilationFailed(stage: error.operation, message: error.message)
        } catch {
            throw .compilationFailed(stage: "aot", message: "\(error)")
        }
    }

    /// One kernel in its own object (a library of one).
    public static func compileMatMul(_ op: MatMul, schedule: MatMulSchedule, target: CodegenTarget,
                                     symbol: String) throws(QuantError) -> AOTLibrary {
        try compileLibrary([AOTRequest(symbol: symbol, op: op, schedule: schedule)], target: target, moduleName: symbol)
    }
}

/// Builds, verifies and optimizes the LLVM module of one matmul kernel for a target machine: the
/// steps the JIT and AOT share.
enum MatMulModule {
    static let irPipeline = ProcessInfo.processInfo.environment["QFORGE_LLVM_PASSES"] ?? "\(PassPipeline.instCombine),simplifycfg"

    /// An empty module for `machine`.
    static func make(name: String, context: Context, machine: TargetMachine) -> Module {
        let module = Module(name: name, context: context)
        module.triple = machine.triple
        module.setDataLayout(of: machine)
        return module
    }

    /// Verifies the module, runs the IR pipeline, and writes the requested dumps.
    static func finish(_ module: Module, name: String, machine: TargetMachine, phase: (String) -> Void = { _ in }) throws {
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
    }
}
