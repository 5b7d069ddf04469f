import CLLVM

/// An LLVM context: owns types and constants. Either a plain context (for AOT) or one inside an
/// ORC thread-safe context (for modules that will be handed to the JIT).
public final class Context {
    public let ref: LLVMContextRef
    let threadSafeRef: LLVMOrcThreadSafeContextRef?

    /// A plain context, owned and disposed by this object.
    public init() {
        ref = LLVMContextCreate()
        threadSafeRef = nil
    }

    /// A context whose modules can be added to an `LLJIT`.
    public init(forJIT: Void) {
        #if LLVM_ORC_TSC_GET_CONTEXT
        let tsc = LLVMOrcCreateNewThreadSafeContext()!
        threadSafeRef = tsc
        ref = LLVMOrcThreadSafeContextGetContext(tsc)
        #else
        // The thread-safe context takes ownership of the plain one.
        let context = LLVMContextCreate()!
        threadSafeRef = LLVMOrcCreateNewThreadSafeContextFromLLVMContext(context)
        ref = context
        #endif
    }

    deinit {
        // ORC's thread-safe context is reference counted: modules already handed to the JIT keep
        // the underlying LLVMContext alive after this handle goes.
        if let threadSafeRef {
            LLVMOrcDisposeThreadSafeContext(threadSafeRef)
        } else {
            LLVMContextDispose(ref)
        }
    }

    // MARK: Types
    public var void: LLVMTypeRef { LLVMVoidTypeInContext(ref) }
    public var i1: LLVMTypeRef { LLVMInt1TypeInContext(ref) }
    public var i8: LLVMTypeRef { LLVMInt8TypeInContext(ref) }
    public var i16: LLVMTypeRef { LLVMInt16TypeInContext(ref) }
    public var i32: LLVMTypeRef { LLVMInt32TypeInContext(ref) }
    public var i64: LLVMTypeRef { LLVMInt64TypeInContext(ref) }
    public var f32: LLVMTypeRef { LLVMFloatTypeInContext(ref) }
    public func int(bits: Int) -> LLVMTypeRef { LLVMIntTypeInContext(ref, UInt32(bits)) }
    public func vector(_ element: LLVMTypeRef, _ count: Int) -> LLVMTypeRef { LLVMVectorType(element, UInt32(count)) }
    public func array(_ element: LLVMTypeRef, _ count: Int) -> LLVMTypeRef { LLVMArrayType(element, UInt32(count)) }
    /// A pointer in address space 0 (typed on LLVM 14, opaque from LLVM 15/17 on).
    public func pointer(to element: LLVMTypeRef) -> LLVMTypeRef { LLVMPointerType(element, 0) }
    public func function(_ result: LLVMTypeRef, _ params: [LLVMTypeRef], variadic: Bool = false) -> LLVMTypeRef {
        var params: [LLVMTypeRef?] = params
        return LLVMFunctionType(result, &params, UInt32(params.count), variadic ? 1 : 0)
    }

    // MARK: Constants
    public func constInt(_ type: LLVMTypeRef, _ value: Int64) -> LLVMValueRef {
        LLVMConstInt(type, UInt64(bitPattern: value), 1)
    }
    public func constFloat(_ value: Float) -> LLVMValueRef { LLVMConstReal(f32, Double(value)) }
    /// A constant vector with the given lanes.
    public func constVector(_ lanes: [LLVMValueRef]) -> LLVMValueRef {
        var lanes: [LLVMValueRef?] = lanes
        return LLVMConstVector(&lanes, UInt32(lanes.count))
    }
    /// A constant array of `element`.
    public func constArray(_ element: LLVMTypeRef, _ values: [LLVMValueRef]) -> LLVMValueRef {
        var values: [LLVMValueRef?] = values
        return LLVMConstArray(element, &values, UInt32(values.count))
    }
}
