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
    var accumulatorType: IRType { get }
    /// Loads the B vector at `pointer` (`lanes·kGroup` packed bytes, vector-aligned).
    func loadB(_ b: IRBuilder, at pointer: IRValue) -> IRValue
    /// Loads `validBytes` (≤ kGroup) bytes of one A row at `pointer` and broadcasts them as the A
    /// operand; bytes past `validBytes` count as zero. `flipSign` turns s8 into u8 (+128).
    func loadA(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue
    /// `acc + dot(a, bVector)` per lane.
    func dot(_ b: IRBuilder, _ acc: IRValue, _ a: IRValue, _ bVector: IRValue) -> IRValue
    /// `rowSum + Σ(bytes of a)`, accumulated in every lane.
    func accumulateRowSum(_ b: IRBuilder, _ rowSum: IRValue, _ a: IRValue) -> IRValue

    // Row groups (M0 > 1). Broadcast forms (M0 = 1) get these from the extension below.

    /// The A operand of one row group: `rows[r]` points at the K group of row r, nil for a row past
    /// M (read as zeros).
    func loadAGroup(_ b: IRBuilder, rows: [IRValue?], validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue
    /// i32 lanes per output vector of a row (the epilogue's vector width).
    var outputLanes: Int { get }
    /// Row `row` (0..<M0) of a row group's accumulators (`vectorsPerRow` of them) as output vectors
    /// of `outputLanes` consecutive columns.
    func rowOutputs(_ b: IRBuilder, _ accumulators: ArraySlice<IRValue>, row: Int) -> [IRValue]
    /// Row `row`'s sum of A' bytes, from its group's row-sum accumulator (an i32).
    func rowSum(_ b: IRBuilder, _ accumulator: IRValue, row: Int) -> IRValue

    // Pack-A (instructions with `packsA`).

    /// The i32 a K group of one A row packs into (`validBytes` ≤ kGroup; missing bytes are zero).
    func packAGroup(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, signed: Bool) -> IRValue
    /// Bytes of A that `packAChunk` packs at once (a whole number of K groups), or nil when
    /// packing goes one group at a time.
    var packAChunkBytes: Int? { get }
    /// The packed form of `packAChunkBytes` bytes of one A row at `pointer`: the same bytes as
    /// `packAGroup` on each of its groups in turn, as one vector.
    func packAChunk(_ b: IRBuilder, at pointer: IRValue, signed: Bool) -> IRValue
    /// The A operand from a packed i32 at `pointer`.
    func loadPackedA(_ b: IRBuilder, at pointer: IRValue) -> IRValue
}

extension DotEmitter {
    func loadAGroup(_ b: IRBuilder, rows: [IRValue?], validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue {
        loadA(b, at: rows[0]!, validBytes: validBytes, flipSign: flipSign, signed: signed)
    }
    var outputLanes: Int { instruction.lanes }
    func rowOutputs(_ b: IRBuilder, _ accumulators: ArraySlice<IRValue>, row: Int) -> [IRValue] { Array(accumulators) }
    func rowSum(_ b: IRBuilder, _ accumulator: IRValue, row: Int) -> IRValue { b.extractElement(accumulator, 0) }
    func packAGroup(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, signed: Bool) -> IRValue {
        preconditionFailure("\(instruction.mnemonic) does not pack A")
    }
    var packAChunkBytes: Int? { nil }
    func packAChunk(_ b: IRBuilder, at pointer: IRValue, signed: Bool) -> IRValue {
        preconditionFailure("\(instruction.mnemonic) packs A one group at a time")
    }
    func loadPackedA(_ b: IRBuilder, at pointer: IRValue) -> IRValue {
        preconditionFailure("\(instruction.mnemonic) does not pack A")
    }
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
        case .i8mmSmmla:
            return try MatrixMultiplyEmitter(instruction: instruction, module: module)
        case .avx2Pmaddwd:
            return try PmaddwdEmitter(instruction: instruction, module: module, bSigned: bSigned)
        case .amxTile:
            return TileDotEmitter(instruction: instruction, context: module.context)
        }
    }
}
