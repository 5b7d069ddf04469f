import LLVMKit
import QuantOps
import QuantSchedule

/// Emits `void name(const uint8_t *b, int64_t ldb, uint8_t *packed)`: the weight packer of one
/// kernel as machine code, so that an AOT library packs its own weights without QuantForge. It
/// computes exactly what `WeightPacker` computes (same layout, domain shift, zero-point and bias
/// compensation, wrapping int32 arithmetic); the tests compare the two byte for byte.
struct PackingRoutineEmitter {
    let op: MatMul
    let instruction: DotInstruction
    let layout: PackedLayout
    let adjustment: OperandAdjustment

    init(_ plan: MatMulPlan) {
        op = plan.op
        instruction = plan.instruction
        layout = plan.layout
        adjustment = plan.adjustment
    }

    /// Adds the packer to `module`, confined to the kernel's instruction as the kernel is (a
    /// multi-ISA library's AVX2 packer must not use the module's AVX-512).
    func emit(into module: Module, name: String, targetFeatures: String) {
        let context = module.context, b = IRBuilder(context)
        let i8 = context.i8, i32 = context.i32, i64 = context.i64
        let bytePointer = context.pointer(to: i8)
        let function = module.addFunction(name, type: context.function(context.void, [bytePointer, i64, bytePointer]))
        instruction.confine(function, in: module, targetFeatures: targetFeatures)
        let loops = LoopBuilder(builder: b, function: function)
        func const(_ value: Int) -> IRValue { context.constInt(i64, Int64(value)) }
        b.position(at: b.appendBlock(function, "entry"))
        let source = IRFunction.parameter(function, 0), ldb = IRFunction.parameter(function, 1), packed = IRFunction.parameter(function, 2)
        b.memset(packed, to: context.null(i8), size: const(layout.totalBytes), align: 64)
        let compensation = b.byteOffset(packed, const(layout.compensationOffset))
        func columnSum(_ column: IRValue) -> IRValue { b.byteOffset(compensation, b.mul(column, const(4))) }

        // Pass 1: every byte shifted into the instruction's domain and stored at its packed offset;
        // the shifted column sums accumulate in the compensation area.
        loops.loop("k", from: const(0), step: 1, while: { b.icmp(.slt, $0, const(op.k)) }) { k, _ in
            let group = b.sdiv(k, const(layout.kGroup))
            let within = b.srem(k, const(layout.kGroup))
            let row = b.byteOffset(source, b.mul(k, ldb))
            loops.loop("n", from: const(0), step: 1, while: { b.icmp(.slt, $0, const(op.n)) }) { n, _ in
                let byte = b.load(i8, from: b.byteOffset(row, n), align: 1)
                let value = b.add(op.bType == .s8 ? b.sext(byte, to: i32) : b.zext(byte, to: i32),
                                  context.constInt(i32, Int64(adjustment.bOffset)))
                let panel = b.sdiv(n, const(layout.panelWidth))
                let column = b.srem(n, const(layout.panelWidth))
                let offset = b.add(b.mul(panel, const(layout.panelBytes)),
                                   b.add(b.mul(b.add(b.mul(group, const(layout.panelWidth)), column), const(layout.kGroup)), within))
                b.store(b.trunc(value, to: i8), to: b.byteOffset(packed, offset), align: 1)
                let sum = columnSum(n)
                b.store(b.add(b.load(i32, from: sum, align: 4), value), to: sum, align: 4)
                return []
            }
            return []
        }

        // Pass 2: compensation[n] = -a_zp'·colsum[n] + K·a_zp'·b_zp'[n] + bias[n]; with a run-time
        // a_zp (layout.hasColumnSums) also Σ_k (b - b_zp)[n] = colsum[n] - K·b_zp'[n], what it multiplies.
        let bias = adjustment.foldedBias
        let constants = (0..<op.n).map { n -> IRValue in
            let term = Int32(op.k) &* adjustment.aZeroPoint &* adjustment.bZeroPoints[n] &+ (bias?[n] ?? 0)
            return context.constInt(i32, Int64(term))
        }
        let table = module.addConstant("\(name).terms", context.constArray(i32, constants), alignment: 4)
        let aZero = context.constInt(i32, Int64(0 &- adjustment.aZeroPoint))
        let zeroTable = layout.hasColumnSums
            ? module.addConstant("\(name).kzp", context.constArray(i32, (0..<op.n).map {
                context.constInt(i32, Int64(Int32(op.k) &* adjustment.bZeroPoints[$0]))
            }), alignment: 4) : nil
        loops.loop("n", from: const(0), step: 1, while: { b.icmp(.slt, $0, const(op.n)) }) { n, _ in
            let sum = columnSum(n)
            let term = b.load(i32, from: b.byteOffset(table, b.mul(n, const(4))), align: 4)
            let total = b.load(i32, from: sum, align: 4)
            if let zeroTable {
                let kzp = b.load(i32, from: b.byteOffset(zeroTable, b.mul(n, const(4))), align: 4)
                b.store(b.sub(total, kzp), to: b.byteOffset(packed, b.add(const(layout.columnSumsOffset), b.mul(n, const(4)))), align: 4)
            }
            b.store(b.add(b.mul(total, aZero), term), to: sum, align: 4)
            return []
        }
        b.retVoid()
    }
}
