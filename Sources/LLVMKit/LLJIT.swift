import CLLVM
import Foundation

/// ORC's LLJIT behind a lock: concurrent add/lookup on one LLJIT crashes (ARCHITECTURE.md, "LLVM: the JIT is not thread-safe"), so every
/// call into it is serialized here. Each added module gets its own resource tracker, so that its
/// machine code can be freed again (`remove`).
public final class LLJIT: @unchecked Sendable {
    private let ref: LLVMOrcLLJITRef
    private let lock = NSLock()
    /// The target machine this JIT generates code for (a copy of the description; the JIT owns
    /// its own LLVM handle).
    public let triple: String
    public let cpu: String
    public let features: String

    /// A JIT for `machine` (consumed: the JIT takes over the handle).
    public init(machine: TargetMachine) throws {
        LLVM.initialize()
        triple = machine.triple
        cpu = machine.cpu
        features = machine.features
        let builder = LLVMOrcCreateLLJITBuilder()
        let machineBuilder = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(machine.relinquish())
        LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, machineBuilder)
        var jit: LLVMOrcLLJITRef?
        try LLVMError.check(LLVMOrcCreateLLJIT(&jit, builder), "create LLJIT")
        guard let jit else { throw LLVMError("create LLJIT", "no JIT returned") }
        ref = jit
        // Resolve what generated code may call (memcpy from LLVM's memcpy lowering, libm helpers)
        // against this process's symbols — those and nothing else (`processSymbols`): an object
        // that names any other function of the process does not link.
        var generator: LLVMOrcDefinitionGeneratorRef?
        let filter: LLVMOrcSymbolPredicate = { _, symbol in
            guard let name = LLVMOrcSymbolStringPoolEntryStr(symbol) else { return 0 }
            return LLJIT.processSymbols.contains(String(cString: name)) ? 1 : 0
        }
        try LLVMError.check(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&generator, LLVMOrcLLJITGetGlobalPrefix(jit), filter, nil),
                            "create the process symbol generator")
        LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), generator)
    }

    deinit {
        if let error = LLVMOrcDisposeLLJIT(ref) { LLVMConsumeError(error) }
    }

    /// The functions of this process that JIT-compiled code may call: what LLVM lowers memory
    /// intrinsics and vector math to when the target lacks the instruction (the portable path's
    /// `fma`, rounding and `exp` on SSE2), and the compiler runtime's integer and half helpers.
    public static let processSymbols: Set<String> = [
        "memcpy", "memmove", "memset", "bzero",
        "fma", "fmaf", "exp", "expf", "exp2", "exp2f", "log", "logf", "log2f", "pow", "powf", "tanh", "tanhf", "erf", "erff",
        "sqrt", "sqrtf", "floor", "floorf", "ceil", "ceilf", "trunc", "truncf", "round", "roundf", "rint", "rintf",
        "nearbyint", "nearbyintf", "roundeven", "roundevenf", "lrint", "lrintf", "fmax", "fmaxf", "fmin", "fminf", "fabs", "fabsf",
        "__udivti3", "__umodti3", "__divti3", "__modti3", "__muloti4", "__extendhfsf2", "__truncsfhf2", "__gnu_h2f_ieee",
        "__gnu_f2h_ieee", "__powisf2", "__powidf2",
    ]

    /// Symbols the JIT's linker itself defines for an object (the large code model's GOT).
    public static let linkerSymbols: Set<String> = ["_GLOBAL_OFFSET_TABLE_"]

    /// Handle to the code of one added module; `remove` frees it.
    public final class Tracker: @unchecked Sendable {
        fileprivate let ref: LLVMOrcResourceTrackerRef
        fileprivate var removed = false
        fileprivate init(_ ref: LLVMOrcResourceTrackerRef) { self.ref = ref }
        deinit { LLVMOrcReleaseResourceTracker(ref) }
    }

    /// Adds `module` (ownership moves to the JIT) under a new resource tracker.
    public func add(_ module: Module) throws -> Tracker {
        guard let threadSafeContext = module.context.threadSafeRef else {
            throw LLVMError("add module to JIT", "the module was not created in a JIT context (Context(forJIT:))")
        }
        lock.lock()
        defer { lock.unlock() }
        let dylib = LLVMOrcLLJITGetMainJITDylib(ref)
        let tracker = Tracker(LLVMOrcJITDylibCreateResourceTracker(dylib))
        let threadSafeModule = LLVMOrcCreateNewThreadSafeModule(module.take(), threadSafeContext)
        // Ownership of the module passes to the JIT even when adding fails.
        try LLVMError.check(LLVMOrcLLJITAddLLVMIRModuleWithRT(ref, tracker.ref, threadSafeModule), "add module to JIT")
        return tracker
    }

    /// Adds a relocatable object (bytes copied) under a new resource tracker: no LLVM codegen, only
    /// linking.
    /// The object's undefined symbols must all be `processSymbols` (or `linkerSymbols`): anything
    /// else is refused here, before linking (see `ObjectSymbols`).
    public func add(object: [UInt8], name: String) throws -> Tracker {
        switch ObjectSymbols.undefined(in: object) {
        case let .failure(error):
            throw LLVMError("add object \(name) to JIT", "\(error)")
        case let .success(symbols):
            if let refused = symbols.first(where: { !Self.processSymbols.contains($0) && !Self.linkerSymbols.contains($0) }) {
                throw LLVMError("add object \(name) to JIT", "it calls \(refused), which JIT-compiled code may not call")
            }
        }
        lock.lock()
        defer { lock.unlock() }
        let dylib = LLVMOrcLLJITGetMainJITDylib(ref)
        let tracker = Tracker(LLVMOrcJITDylibCreateResourceTracker(dylib))
        let buffer = object.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { LLVMCreateMemoryBufferWithMemoryRangeCopy($0.baseAddress, $0.count, name) }
        }
        // Ownership of the buffer passes to the JIT even when adding fails.
        try LLVMError.check(LLVMOrcLLJITAddObjectFileWithRT(ref, tracker.ref, buffer), "add object \(name) to JIT")
        return tracker
    }

    /// The address of `symbol` (compiles its module on first lookup).
    public func lookup(_ symbol: String) throws -> UnsafeRawPointer {
        lock.lock()
        defer { lock.unlock() }
        var address: LLVMOrcExecutorAddress = 0
        try LLVMError.check(LLVMOrcLLJITLookup(ref, &address, symbol), "look up \(symbol)")
        guard let pointer = UnsafeRawPointer(bitPattern: UInt(address)) else {
            throw LLVMError("look up \(symbol)", "symbol resolved to null")
        }
        return pointer
    }

    /// Frees the code and data of the module added under `tracker`. Idempotent.
    public func remove(_ tracker: Tracker) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !tracker.removed else { return }
        tracker.removed = true
        try LLVMError.check(LLVMOrcResourceTrackerRemove(tracker.ref), "remove JIT resources")
    }
}
