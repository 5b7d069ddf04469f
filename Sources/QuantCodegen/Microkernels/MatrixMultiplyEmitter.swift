import LLVMKit
import QuantSchedule

/// i8mm `smmla`: one instruction adds a 2×2 block of C — rows r0, r1 × columns c0, c1 — from
/// 8 bytes of each of two A rows and 8 bytes of each of two B columns:
/// `acc = [c(r0,c0), c(r0,c1), c(r1,c0), c(r1,c1)]`. The packed B layout is the usual one with
/// K groups of 8 (two consecutive columns form one 16-byte operand). Rows come in pairs (a missing
/// second row reads as zeros); the epilogue interleaves two accumulators into 4-column row vectors.
struct MatrixMultiplyEmitter: DotEmitter {
    let instruction: DotInstruction
    let context: Context
    let function: IRValue
    let functionType: IRType

    init(instruction: DotInstruction, module: Module) throws {
        self.instruction = instruction
        context = module.context
        (function, functionType) = try module.intrinsic(
            instruction.intrinsic!, overloads: [context.vector(context.i32, 4), context.vector(context.i8, 16)])
    }

    var accumulatorType: IRType { context.vector(context.i32, 4) }
    private var bytesType: IRType { context.vector(context.i8, 16) }

    func loadB(_ b: IRBuilder, at pointer: IRValue) -> IRValue {
        b.load(bytesType, from: pointer, align: 16)
    }

    /// One row's 8 bytes (fewer at the K tail, the rest zero), sign-flipped when asked, as an i64.
    private func rowBytes(_ b: IRBuilder, _ pointer: IRValue?, validBytes: Int, flipSign: Bool) -> IRValue {
        let i64 = context.i64
        guard let pointer else { return context.constInt(i64, 0) }
        if validBytes == 8 {
            let bytes = b.load(i64, from: pointer, align: 1)
            return flipSign ? b.xor(bytes, context.constInt(i64, bits: 0x8080_8080_8080_8080)) : bytes
        }
        var bytes = context.constInt(i64, 0)
        for t in 0..<validBytes {
            var byte = b.load(context.i8, from: b.byteOffset(pointer, context.constInt(i64, Int64(t))), align: 1)
            if flipSign { byte = b.xor(byte, context.constInt(context.i8, 0x80)) }
            let wide = b.zext(byte, to: i64)
            bytes = b.or(bytes, t == 0 ? wide : b.shl(wide, context.constInt(i64, Int64(8 * t))))
        }
        return bytes
    }

    func loadAGroup(_ b: IRBuilder, rows: [IRValue?], validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue {
        var pair = context.undef(context.vector(context.i64, 2))
        for r in 0..<2 { pair = b.insertElement(pair, rowBytes(b, rows[r], validBytes: validBytes, flipSign: flipSign), r) }
        return b.bitcast(pair, to: bytesType)
    }

    func loadA(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue {
        loadAGroup(b, rows: [pointer, pointer], validBytes: validBytes, flipSign: flipSign, signed: signed)
    }

    func dot(_ b: IRBuilder, _ acc: IRValue, _ a: IRValue, _ bVector: IRValue) -> IRValue {
        b.call(function, type: functionType, [acc, a, bVector])
    }

    func accumulateRowSum(_ b: IRBuilder, _ rowSum: IRValue, _ a: IRValue) -> IRValue {
        dot(b, rowSum, a, b.splat(context.constInt(context.i8, 1), count: 16))
    }

    var outputLanes: Int { 4 }

    func rowOutputs(_ b: IRBuilder, _ accumulators: ArraySlice<IRValue>, row: Int) -> [IRValue] {
        let blocks = Array(accumulators)
        let mask = context.constVector([2 * row, 2 * row + 1, 4 + 2 * row, 5 + 2 * row].map { context.constInt(context.i32, Int64($0)) })
        return stride(from: 0, to: blocks.count, by: 2).map { v in
            b.shuffle(blocks[v], blocks[v + 1], mask: mask)
        }
    }

    func rowSum(_ b: IRBuilder, _ accumulator: IRValue, row: Int) -> IRValue {
        b.extractElement(accumulator, 2 * row)
    }
}
