import CLLVM

/// An LLVM module. Owns its handle until it is handed to the JIT (`take()`); disposed otherwise.
public final class Module {
    public let context: Context
    private var owned: LLVMModuleRef?

    public init(name: String, context: Context) {
        self.context = context
        owned = LLVMModuleCreateWithNameInContext(name, context.ref)
    }

    deinit {
        if let owned { LLVMDisposeModule(owned) }
    }

    /// The handle; only valid while this object still owns the module.
    public var ref: LLVMModuleRef {
        guard let owned else { preconditionFailure("module was handed over and can no longer be used") }
        return owned
    }

    /// Relinquishes ownership (the caller becomes responsible for the handle).
    func take() -> LLVMModuleRef {
        let handle = ref
        owned = nil
        return handle
    }

    public var triple: String {
        get { String(cString: LLVMGetTarget(ref)) }
        set { LLVMSetTarget(ref, newValue) }
    }

    public func setDataLayout(of machine: TargetMachine) {
        let layout = LLVMCreateTargetDataLayout(machine.ref)
        defer { LLVMDisposeTargetData(layout) }
        let text = LLVMError.takeMessage(LLVMCopyStringRepOfTargetData(layout))
        LLVMSetDataLayout(ref, text)
    }

    /// Checks the module's IR; throws with LLVM's description of every problem.
    public func verify() throws {
        var message: UnsafeMutablePointer<CChar>?
        let failed = LLVMVerifyModule(ref, LLVMReturnStatusAction, &message)
        let text = LLVMError.takeMessage(message)
        if failed != 0 { throw LLVMError("verify module", text) }
    }

    /// The module as textual LLVM IR.
    public var irText: String { LLVMError.takeMessage(LLVMPrintModuleToString(ref)) }

    /// Calls `body` with the module as bitcode: an exact encoding of the IR that is several times
    /// cheaper to produce than `irText` (what kernel hashes are computed from).
    public func withBitcode<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        let buffer = LLVMWriteBitcodeToMemoryBuffer(ref)!
        defer { LLVMDisposeMemoryBuffer(buffer) }
        let start = UnsafeRawPointer(LLVMGetBufferStart(buffer)!)
        return body(UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: LLVMGetBufferSize(buffer)))
    }

    // MARK: Globals and functions

    /// Adds a function with external linkage.
    public func addFunction(_ name: String, type: LLVMTypeRef) -> LLVMValueRef {
        LLVMAddFunction(ref, name, type)
    }

    /// The module's function `name`, if it has one.
    public func function(named name: String) -> LLVMValueRef? { LLVMGetNamedFunction(ref, name) }

    /// Adds a function only this module calls (internal linkage: no symbol in the object's interface).
    public func addInternalFunction(_ name: String, type: LLVMTypeRef) -> LLVMValueRef {
        let function = LLVMAddFunction(ref, name, type)!
        LLVMSetLinkage(function, LLVMInternalLinkage)
        return function
    }

    /// Adds a private constant global with the given initializer and returns it.
    public func addConstant(_ name: String, _ initializer: LLVMValueRef, alignment: Int = 64) -> LLVMValueRef {
        let global = LLVMAddGlobal(ref, LLVMTypeOf(initializer), name)!
        LLVMSetInitializer(global, initializer)
        LLVMSetGlobalConstant(global, 1)
        LLVMSetLinkage(global, LLVMPrivateLinkage)
        LLVMSetUnnamedAddress(global, LLVMGlobalUnnamedAddr)
        LLVMSetAlignment(global, UInt32(alignment))
        return global
    }

    /// Declares an LLVM intrinsic, e.g. `llvm.x86.avx512.vpdpbusd.512`, with the overload types an
    /// overloaded intrinsic (`llvm.masked.store`, `llvm.roundeven`, ...) needs. Returns the
    /// function and its type.
    public func intrinsic(_ name: String, overloads: [LLVMTypeRef] = []) throws -> (function: LLVMValueRef, type: LLVMTypeRef) {
        let id = LLVMLookupIntrinsicID(name, name.utf8.count)
        guard id != 0 else { throw LLVMError("declare intrinsic", "LLVM \(LLVM.majorVersion) has no intrinsic named \(name)") }
        var types: [LLVMTypeRef?] = overloads
        let function = LLVMGetIntrinsicDeclaration(ref, id, &types, overloads.count)!
        let type = LLVMIntrinsicGetType(context.ref, id, &types, overloads.count)!
        return (function, type)
    }
}

extension Module {
    /// `llvm.prefetch` (read, keep in every cache level) of the line at `pointer + offset` bytes.
    /// A hint: the address may lie past the object (a plain GEP, not inbounds; prefetches never fault).
    public func prefetch(_ b: IRBuilder, _ pointer: IRValue, offset: IRValue) {
        let address = b.byteOffset(pointer, offset, inBounds: false)
        let prefetch = try! intrinsic("llvm.prefetch", overloads: [context.pointer(to: context.i8)])
        let i32 = context.i32
        _ = b.call(prefetch.function, type: prefetch.type,
                   [address, context.constInt(i32, 0), context.constInt(i32, 3), context.constInt(i32, 1)])
    }

    /// `llvm.masked.load` of a `vector` type at `pointer` (any pointer; cast here): lanes whose
    /// `mask` bit is clear read nothing and give `passThrough`. `align` goes into the operand the
    /// intrinsic has up to LLVM 20 (LLVM 21 moved it into a parameter attribute; then 1 is assumed).
    public func maskedLoad(_ b: IRBuilder, _ vector: IRType, from pointer: IRValue, mask: IRValue, passThrough: IRValue,
                           align: Int) -> IRValue {
        let pointerType = context.pointer(to: vector)
        let load = try! intrinsic("llvm.masked.load", overloads: [vector, pointerType])
        return b.call(load.function, type: load.type,
                      [b.bitcast(pointer, to: pointerType)] + maskedAlignment(load.type, align) + [mask, passThrough])
    }

    /// `llvm.masked.store` of `value` at `pointer`: lanes whose `mask` bit is clear write nothing.
    public func maskedStore(_ b: IRBuilder, _ value: IRValue, to pointer: IRValue, mask: IRValue, align: Int) {
        let vector = LLVMTypeOf(value)!, pointerType = context.pointer(to: vector)
        let store = try! intrinsic("llvm.masked.store", overloads: [vector, pointerType])
        _ = b.call(store.function, type: store.type, [value, b.bitcast(pointer, to: pointerType)] + maskedAlignment(store.type, align) + [mask])
    }

    private func maskedAlignment(_ intrinsicType: LLVMTypeRef, _ align: Int) -> [LLVMValueRef] {
        IRFunction.parameterTypes(of: intrinsicType).count == 4 ? [context.constInt(context.i32, Int64(align))] : []
    }
}
