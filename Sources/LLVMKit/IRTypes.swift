import CLLVM

/// An LLVM value (instruction, constant, function, global): LLVM's raw handle, valid as long as
/// its context. Code generators use these names and never import the C module.
public typealias IRValue = LLVMValueRef
/// An LLVM type.
public typealias IRType = LLVMTypeRef
/// A basic block.
public typealias IRBlock = LLVMBasicBlockRef

/// Integer comparisons (`icmp`).
public enum IntPredicate: Sendable {
    case eq, ne, ugt, uge, ult, ule, sgt, sge, slt, sle

    var llvm: LLVMIntPredicate {
        switch self {
        case .eq: LLVMIntEQ
        case .ne: LLVMIntNE
        case .ugt: LLVMIntUGT
        case .uge: LLVMIntUGE
        case .ult: LLVMIntULT
        case .ule: LLVMIntULE
        case .sgt: LLVMIntSGT
        case .sge: LLVMIntSGE
        case .slt: LLVMIntSLT
        case .sle: LLVMIntSLE
        }
    }
}

/// Floating-point comparisons (`fcmp`): ordered (false when either side is NaN) or unordered.
public enum RealPredicate: Sendable {
    case oeq, ogt, oge, olt, ole, one, uno

    var llvm: LLVMRealPredicate {
        switch self {
        case .oeq: LLVMRealOEQ
        case .ogt: LLVMRealOGT
        case .oge: LLVMRealOGE
        case .olt: LLVMRealOLT
        case .ole: LLVMRealOLE
        case .one: LLVMRealONE
        case .uno: LLVMRealUNO
        }
    }
}

/// Functions: parameters, attributes and names.
public enum IRFunction {
    /// Parameter `index` of `function`.
    public static func parameter(_ function: IRValue, _ index: Int) -> IRValue { LLVMGetParam(function, UInt32(index)) }

    /// Adds function attributes without values (`nounwind`, `nofree`, ...).
    public static func addAttributes(_ function: IRValue, _ names: [String], in context: Context) {
        for name in names {
            let kind = LLVMGetEnumAttributeKindForName(name, name.utf8.count)
            LLVMAddAttributeAtIndex(function, UInt32(bitPattern: -1), LLVMCreateEnumAttribute(context.ref, kind, 0))
        }
    }

    /// Sets a string attribute (`"target-features"`, ...).
    public static func setAttribute(_ function: IRValue, _ key: String, _ value: String) {
        LLVMAddTargetDependentFunctionAttr(function, key, value)
    }

    /// Renames a value (a function's symbol).
    public static func setName(_ value: IRValue, _ name: String) { LLVMSetValueName2(value, name, name.utf8.count) }

    /// The parameter types of a function type.
    public static func parameterTypes(of functionType: IRType) -> [IRType] {
        var params = [LLVMTypeRef?](repeating: nil, count: Int(LLVMCountParamTypes(functionType)))
        LLVMGetParamTypes(functionType, &params)
        return params.map { $0! }
    }
}

extension Context {
    /// The all-zero value of `type` (`zeroinitializer`).
    public func null(_ type: IRType) -> IRValue { LLVMConstNull(type) }
    /// An undefined value of `type`.
    public func undef(_ type: IRType) -> IRValue { LLVMGetUndef(type) }
    /// The type of `value`.
    public func type(of value: IRValue) -> IRType { LLVMTypeOf(value) }
    /// An integer constant from its bit pattern.
    public func constInt(_ type: IRType, bits: UInt64) -> IRValue { LLVMConstInt(type, bits, 0) }
}

extension Module {
    /// The global named `name`, if the module has one.
    public func global(named name: String) -> IRValue? { LLVMGetNamedGlobal(ref, name) }
}

extension IRBuilder {
    public func sdiv(_ a: IRValue, _ b: IRValue, _ name: String = "") -> IRValue { LLVMBuildSDiv(ref, a, b, name) }
    public func srem(_ a: IRValue, _ b: IRValue, _ name: String = "") -> IRValue { LLVMBuildSRem(ref, a, b, name) }
    public func fdiv(_ a: IRValue, _ b: IRValue, _ name: String = "") -> IRValue { LLVMBuildFDiv(ref, a, b, name) }

    /// `llvm.memcpy` of `size` bytes (`IRValue`, i64) with the given alignments.
    public func memcpy(to destination: IRValue, align destinationAlign: Int, from source: IRValue, align sourceAlign: Int, size: IRValue) {
        LLVMBuildMemCpy(ref, destination, UInt32(destinationAlign), source, UInt32(sourceAlign), size)
    }

    /// `llvm.memset` of `size` bytes to `byte` (an i8 value).
    public func memset(_ destination: IRValue, to byte: IRValue, size: IRValue, align: Int) {
        LLVMBuildMemSet(ref, destination, byte, size, UInt32(align))
    }

    /// A stack buffer of `bytes` bytes, with the given alignment (nil: the ABI's, 1).
    public func alloca(bytes: Int, align: Int?, _ name: String = "") -> IRValue {
        let storage = LLVMBuildAlloca(ref, context.array(context.i8, bytes), name)!
        if let align { LLVMSetAlignment(storage, UInt32(align)) }
        return storage
    }

    /// Marks a load or store volatile (the optimizer keeps it where it is).
    public func setVolatile(_ instruction: IRValue) { LLVMSetVolatile(instruction, 1) }

    /// `shufflevector a, b, mask`.
    public func shuffle(_ a: IRValue, _ b: IRValue, mask: IRValue, _ name: String = "") -> IRValue {
        LLVMBuildShuffleVector(ref, a, b, mask, name)
    }
}
