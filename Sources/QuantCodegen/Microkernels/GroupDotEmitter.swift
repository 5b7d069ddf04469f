import LLVMKit
import QuantSchedule

/// A 4-byte group dot product: `vpdpbusd` (AVX-512 VNNI on zmm, AVX-VNNI on ymm: u8 A × s8 B) and
/// NEON `sdot` (s8 × s8). Each i32 lane adds the dot product of the 4 broadcast A bytes and its 4
/// B bytes. Row sums reuse the instruction against a vector of ones.
struct GroupDotEmitter: DotEmitter {
    let instruction: DotInstruction
    let context: Context
    let function: IRValue
    let functionType: IRType
    /// The intrinsic's operand types (i32 vectors up to LLVM 20, i8 vectors after), read from its
    /// declaration so that both spellings work.
    let operandTypes: [IRType]

    /// `overloaded`: the intrinsic is declared for the accumulator and byte vector types
    /// (`llvm.aarch64.neon.sdot.v4i32.v16i8`), not under one fixed signature.
    init(instruction: DotInstruction, module: Module, overloaded: Bool) throws {
        self.instruction = instruction
        context = module.context
        let overloads = overloaded
            ? [context.vector(context.i32, instruction.lanes), context.vector(context.i8, instruction.lanes * 4)] : []
        (function, functionType) = try module.intrinsic(instruction.intrinsic!, overloads: overloads)
        operandTypes = IRFunction.parameterTypes(of: functionType)
    }

    var accumulatorType: IRType { context.vector(context.i32, instruction.lanes) }

    func loadB(_ b: IRBuilder, at pointer: IRValue) -> IRValue {
        b.load(accumulatorType, from: pointer, align: instruction.lanes * 4)
    }

    func loadA(_ b: IRBuilder, at pointer: IRValue, validBytes: Int, flipSign: Bool, signed: Bool) -> IRValue {
        let i32 = context.i32
        var group: IRValue
        if validBytes == instruction.kGroup {
            group = b.load(i32, from: pointer, align: 1)
            if flipSign { group = b.xor(group, context.constInt(i32, 0x8080_8080)) }
        } else {
            // K tail: read only the bytes that exist; the missing ones are zero after the flip.
            group = context.constInt(i32, 0)
            for t in 0..<validBytes {
                var byte = b.load(context.i8, from: b.byteOffset(pointer, context.constInt(context.i64, Int64(t))), align: 1)
                if flipSign { byte = b.xor(byte, context.constInt(context.i8, 0x80)) }
                let wide = b.zext(byte, to: i32)
                group = b.or(group, t == 0 ? wide : b.shl(wide, context.constInt(i32, Int64(8 * t))))
            }
        }
        return b.splat(group, count: instruction.lanes)
    }

    func dot(_ b: IRBuilder, _ acc: IRValue, _ a: IRValue, _ bVector: IRValue) -> IRValue {
        let result = b.call(function, type: functionType, [
            b.bitcast(acc, to: operandTypes[0]), b.bitcast(a, to: operandTypes[1]), b.bitcast(bVector, to: operandTypes[2]),
        ])
        return b.bitcast(result, to: accumulatorType)
    }

    func accumulateRowSum(_ b: IRBuilder, _ rowSum: IRValue, _ a: IRValue) -> IRValue {
        let ones = b.splat(context.constInt(context.i32, 0x0101_0101), count: instruction.lanes)
        return dot(b, rowSum, a, ones)
    }
}
