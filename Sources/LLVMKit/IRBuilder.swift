import CLLVM

/// A thin wrapper over `LLVMBuilderRef`: instructions are emitted at the current insertion point.
/// Values and types are LLVM's raw handles; they live as long as the module's context.
public final class IRBuilder {
    public let ref: LLVMBuilderRef
    public let context: Context

    public init(_ context: Context) {
        self.context = context
        ref = LLVMCreateBuilderInContext(context.ref)
    }

    deinit { LLVMDisposeBuilder(ref) }

    // MARK: Blocks and control flow
    public func appendBlock(_ function: LLVMValueRef, _ name: String) -> LLVMBasicBlockRef {
        LLVMAppendBasicBlockInContext(context.ref, function, name)
    }
    public func position(at block: LLVMBasicBlockRef) { LLVMPositionBuilderAtEnd(ref, block) }
    public var currentBlock: LLVMBasicBlockRef { LLVMGetInsertBlock(ref) }
    public func br(_ block: LLVMBasicBlockRef) { LLVMBuildBr(ref, block) }
    public func condBr(_ condition: LLVMValueRef, _ then: LLVMBasicBlockRef, _ otherwise: LLVMBasicBlockRef) {
        LLVMBuildCondBr(ref, condition, then, otherwise)
    }
    public func switchOn(_ value: LLVMValueRef, default block: LLVMBasicBlockRef, cases: [(LLVMValueRef, LLVMBasicBlockRef)]) {
        let instruction = LLVMBuildSwitch(ref, value, block, UInt32(cases.count))
        for (caseValue, destination) in cases { LLVMAddCase(instruction, caseValue, destination) }
    }
    public func retVoid() { LLVMBuildRetVoid(ref) }
    public func phi(_ type: LLVMTypeRef, _ name: String = "") -> LLVMValueRef { LLVMBuildPhi(ref, type, name) }
    public func addIncoming(_ phi: LLVMValueRef, _ value: LLVMValueRef, from block: LLVMBasicBlockRef) {
        var values: [LLVMValueRef?] = [value]
        var blocks: [LLVMBasicBlockRef?] = [block]
        LLVMAddIncoming(phi, &values, &blocks, 1)
    }

    // MARK: Integer and float arithmetic
    public func add(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildAdd(ref, a, b, name) }
    public func sub(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildSub(ref, a, b, name) }
    public func mul(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildMul(ref, a, b, name) }
    public func xor(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildXor(ref, a, b, name) }
    public func and(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildAnd(ref, a, b, name) }
    public func or(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildOr(ref, a, b, name) }
    public func shl(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildShl(ref, a, b, name) }
    public func lshr(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildLShr(ref, a, b, name) }
    public func ashr(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildAShr(ref, a, b, name) }
    public func fadd(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildFAdd(ref, a, b, name) }
    public func fsub(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildFSub(ref, a, b, name) }
    public func fmul(_ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef { LLVMBuildFMul(ref, a, b, name) }
    public func icmp(_ predicate: IntPredicate, _ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef {
        LLVMBuildICmp(ref, predicate.llvm, a, b, name)
    }
    public func fcmp(_ predicate: RealPredicate, _ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef {
        LLVMBuildFCmp(ref, predicate.llvm, a, b, name)
    }
    public func select(_ condition: LLVMValueRef, _ a: LLVMValueRef, _ b: LLVMValueRef, _ name: String = "") -> LLVMValueRef {
        LLVMBuildSelect(ref, condition, a, b, name)
    }

    // MARK: Conversions
    public func sext(_ v: LLVMValueRef, to type: LLVMTypeRef) -> LLVMValueRef { LLVMBuildSExt(ref, v, type, "") }
    public func zext(_ v: LLVMValueRef, to type: LLVMTypeRef) -> LLVMValueRef { LLVMBuildZExt(ref, v, type, "") }
    public func trunc(_ v: LLVMValueRef, to type: LLVMTypeRef) -> LLVMValueRef { LLVMBuildTrunc(ref, v, type, "") }
    public func sitofp(_ v: LLVMValueRef, to type: LLVMTypeRef) -> LLVMValueRef { LLVMBuildSIToFP(ref, v, type, "") }
    public func fptosi(_ v: LLVMValueRef, to type: LLVMTypeRef) -> LLVMValueRef { LLVMBuildFPToSI(ref, v, type, "") }
    public func bitcast(_ v: LLVMValueRef, to type: LLVMTypeRef) -> LLVMValueRef { LLVMBuildBitCast(ref, v, type, "") }
    public func intToPtr(_ v: LLVMValueRef, to type: LLVMTypeRef) -> LLVMValueRef { LLVMBuildIntToPtr(ref, v, type, "") }

    // MARK: Memory
    /// Loads `type` from `pointer` (bitcast as needed, so it works with typed and opaque pointers).
    public func load(_ type: LLVMTypeRef, from pointer: LLVMValueRef, align: Int, _ name: String = "") -> LLVMValueRef {
        let typed = bitcast(pointer, to: context.pointer(to: type))
        let value = LLVMBuildLoad2(ref, type, typed, name)!
        LLVMSetAlignment(value, UInt32(align))
        return value
    }
    public func store(_ value: LLVMValueRef, to pointer: LLVMValueRef, align: Int) {
        let typed = bitcast(pointer, to: context.pointer(to: LLVMTypeOf(value)))
        let instruction = LLVMBuildStore(ref, value, typed)!
        LLVMSetAlignment(instruction, UInt32(align))
    }
    /// `pointer + offset` in bytes, as an `i8*`.
    /// `inBounds: false` for an address that may lie outside the object (a prefetch hint).
    public func byteOffset(_ pointer: LLVMValueRef, _ offset: LLVMValueRef, _ name: String = "", inBounds: Bool = true) -> LLVMValueRef {
        let bytePointer = bitcast(pointer, to: context.pointer(to: context.i8))
        var indices: [LLVMValueRef?] = [offset]
        return inBounds ? LLVMBuildInBoundsGEP2(ref, context.i8, bytePointer, &indices, 1, name)
            : LLVMBuildGEP2(ref, context.i8, bytePointer, &indices, 1, name)
    }

    // MARK: Vectors
    public func extractElement(_ vector: LLVMValueRef, _ index: Int) -> LLVMValueRef {
        LLVMBuildExtractElement(ref, vector, context.constInt(context.i32, Int64(index)), "")
    }
    public func insertElement(_ vector: LLVMValueRef, _ element: LLVMValueRef, _ index: Int) -> LLVMValueRef {
        LLVMBuildInsertElement(ref, vector, element, context.constInt(context.i32, Int64(index)), "")
    }
    /// A vector of `count` copies of the scalar `value`.
    public func splat(_ value: LLVMValueRef, count: Int, _ name: String = "") -> LLVMValueRef {
        let vectorType = context.vector(LLVMTypeOf(value), count)
        let single = insertElement(LLVMGetUndef(vectorType), value, 0)
        let zeroMask = LLVMConstNull(context.vector(context.i32, count))
        return LLVMBuildShuffleVector(ref, single, LLVMGetUndef(vectorType), zeroMask, name)
    }

    /// The vectors `parts` (same type) side by side in one vector of their total length.
    public func concat(_ parts: [LLVMValueRef], _ name: String = "") -> LLVMValueRef {
        guard parts.count > 1 else { return parts[0] }
        let type = LLVMTypeOf(parts[0])!, lanes = Int(LLVMGetVectorSize(type)), total = lanes * parts.count
        func mask(_ indices: [Int?]) -> LLVMValueRef {
            let i32 = context.i32
            return context.constVector(indices.map { $0.map { context.constInt(i32, Int64($0)) } ?? LLVMGetUndef(i32) })
        }
        /// A part widened to `total` lanes (its lanes first, the rest undefined).
        func widened(_ part: LLVMValueRef) -> LLVMValueRef {
            LLVMBuildShuffleVector(ref, part, LLVMGetUndef(type), mask((0..<total).map { $0 < lanes ? $0 : nil }), "")
        }
        var result = widened(parts[0])
        for (index, part) in parts.enumerated().dropFirst() {
            let start = index * lanes
            // Lanes before `start` from the result so far, then the part's lanes (the rest undefined).
            let indices: [Int?] = (0..<total).map { $0 < start ? $0 : ($0 < start + lanes ? total + $0 - start : nil) }
            result = LLVMBuildShuffleVector(ref, result, widened(part), mask(indices), index == parts.count - 1 ? name : "")
        }
        return result
    }

    /// The lanes of `a` (indices 0..<n) and `b` (n..<2n) picked by `indices`, in their order.
    public func shuffle(_ a: LLVMValueRef, _ b: LLVMValueRef, _ indices: [Int]) -> LLVMValueRef {
        let mask = context.constVector(indices.map { context.constInt(context.i32, Int64($0)) })
        return LLVMBuildShuffleVector(ref, a, b, mask, "")
    }

    /// Lanes `start..<start + count` of `vector`.
    public func slice(_ vector: LLVMValueRef, from start: Int, count: Int) -> LLVMValueRef {
        let mask = context.constVector((start..<(start + count)).map { context.constInt(context.i32, Int64($0)) })
        return LLVMBuildShuffleVector(ref, vector, LLVMGetUndef(LLVMTypeOf(vector)), mask, "")
    }

    // MARK: Calls
    @discardableResult
    public func call(_ function: LLVMValueRef, type: LLVMTypeRef, _ args: [LLVMValueRef], _ name: String = "") -> LLVMValueRef {
        var args: [LLVMValueRef?] = args
        return LLVMBuildCall2(ref, type, function, &args, UInt32(args.count), name)
    }

    /// An empty `asm sideeffect` that clobbers memory: no memory access moves across it, so code
    /// that depends on loads after it stays after it (a code generator's scheduling fence that
    /// emits no instruction).
    public func schedulingBarrier() {
        let type = context.function(context.void, [])
        var text = Array("".utf8CString), constraints = Array("~{memory}".utf8CString)
        let asm = text.withUnsafeMutableBufferPointer { t in
            constraints.withUnsafeMutableBufferPointer { c in
                LLVMGetInlineAsm(type, t.baseAddress, 0, c.baseAddress, c.count - 1, 1, 0, LLVMInlineAsmDialectATT, 0)!
            }
        }
        var none: [LLVMValueRef?] = []
        LLVMBuildCall2(ref, type, asm, &none, 0, "")
    }
}
