import CLLVM
import LLVMKit
import QuantSchedule

/// Emits the instruction-specific parts of a microkernel for one `DotInstruction`: loading B
/// vectors and A groups, the dot-product step, and row sums. The loop nest, the epilogue and the
/// stores are shared (`MatMulKernelEmitter`).
///
/// A microkernel for a new ISA is one more conformance in this folder plus its table entry in
/// `QuantSchedule/DotInstruction.swift`.
protocol DotEmitter {
    var instruction: DotInstruction { get }
    /// `<lanes x i32>`: the accumulator (and row-sum) vector.
    var accumulatorType: LLVMTypeRef { get }
    /// Loads the B vector at `pointer` (`lanes·kGroup` packed bytes, vector-aligned).
    func loadB(_ b: IRBuilder, at pointer: LLVMValueRef) -> LLVMValueRef
    /// Loads `validBytes` (≤ kGroup) bytes of one A row at `pointer` and broadcasts them as the A
    /// operand; bytes past `validBytes` count as zero. `flipSign` turns s8 into u8 (+128).
    func loadA(_ b: IRBuilder, at pointer: LLVMValueRef, validBytes: Int, flipSign: Bool, signed: Bool) -> LLVMValueRef
    /// `acc + dot(a, bVector)` per lane.
    func dot(_ b: IRBuilder, _ acc: LLVMValueRef, _ a: LLVMValueRef, _ bVector: LLVMValueRef) -> LLVMValueRef
    /// `rowSum + Σ(bytes of a)`, accumulated in every lane.
    func accumulateRowSum(_ b: IRBuilder, _ rowSum: LLVMValueRef, _ a: LLVMValueRef) -> LLVMValueRef
}

enum DotEmitters {
    /// The emitter for `instruction`, declaring its intrinsic in `module`.
    static func make(_ instruction: DotInstruction, module: Module, bSigned: Bool) throws -> DotEmitter {
        switch instruction.kind {
        case .portableWidening:
            return PortableWideningEmitter(instruction: instruction, context: module.context, bSigned: bSigned)
        case .avx512Vpdpbusd, .avxVnniVpdpbusd:
            return try GroupDotEmitter(instruction: instruction, module: module, overloaded: false)
        case .neonSdot:
            return try GroupDotEmitter(instruction: instruction, module: module, overloaded: true)
        case .avx2Pmaddwd:
            return try PmaddwdEmitter(instruction: instruction, module: module, bSigned: bSigned)
        }
    }
}
