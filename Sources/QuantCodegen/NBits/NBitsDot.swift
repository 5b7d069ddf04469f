import LLVMKit
import QuantSchedule

/// The integer step of the `NBitsLinear` int8 kernels: `acc + Σ_t w[4c + t] · a[t]` per i32 lane c,
/// for a vector of weight bytes (4 per lane, unsigned — or s8 where the layout stores signed bytes)
/// and one row's 4 quantized A bytes (s8) broadcast. Exact in every form:
/// - `vpdpbusd` (AVX-512 VNNI zmm, AVX-VNNI ymm): weights as the u8 operand, A as the s8 one;
/// - NEON `sdot`: both s8 (4-bit values and the layout's signed 8-bit bytes are in range);
/// - AVX2, 4 bits: `vpmaddubsw` (u8 × s8 pairs: |15·128·2| < 2^15, no saturation) + `vpmaddwd` by 1
///   (or several steps' pairs summed in i16 first: `narrowSteps`);
/// - AVX2, 8 bits: even and odd bytes widened to i16 separately, two `vpmaddwd` (no saturation);
/// - portable: widened to i32, multiplied, and each lane's 4 products added.
struct NBitsDot {
    let instruction: DotInstruction
    let context: Context
    let bits: Int
    /// i32 lanes of the vectors.
    let lanes: Int
    private let group: GroupDotEmitter?
    private let pmaddubsw: (function: IRValue, type: IRType)?
    private let pmaddwd: (function: IRValue, type: IRType)?

    init(instruction: DotInstruction, module: Module, bits: Int, lanes: Int) throws {
        self.instruction = instruction
        context = module.context
        self.bits = bits
        self.lanes = lanes
        switch instruction.kind {
        case .avx512Vpdpbusd, .avxVnniVpdpbusd:
            group = try GroupDotEmitter(instruction: instruction, module: module, overloaded: false)
        case .neonSdot, .i8mmSmmla:
            group = try GroupDotEmitter(instruction: InstructionTable.neonSdot, module: module, overloaded: true)
        case .avx2Pmaddwd, .portableWidening:
            group = nil
        case .amxTile:
            preconditionFailure("NBitsLayout.instruction(for:) gives AMX CPUs the AVX-512 VNNI entry")
        }
        if instruction.kind == .avx2Pmaddwd {
            pmaddubsw = try module.intrinsic("llvm.x86.avx2.pmadd.ub.sw")
            pmaddwd = try module.intrinsic("llvm.x86.avx2.pmadd.wd")
        } else {
            pmaddubsw = nil
            pmaddwd = nil
        }
    }

    /// True when weight bytes up to 240 are exact as the weights' operand — `vpdpbusd` reads them
    /// unsigned and never saturates — so 4-bit high nibbles can stay in place (16·q) and be shifted
    /// back once per block. Not `sdot` (0xF0 reads as -16) nor `vpmaddubsw` (its pairs saturate).
    var takesScaledHighNibbles: Bool { instruction.kind == .avx512Vpdpbusd || instruction.kind == .avxVnniVpdpbusd }

    /// Steps (8 k of 4-bit weights) whose products an i16 lane can sum exactly before they are
    /// widened to i32, where the instruction has such a form; nil elsewhere. AVX2, 4 bits:
    /// `vpmaddubsw` gives each i16 lane a pair sum |q·a + q'·a'| ≤ 2·15·128 = 3840, a step adds two
    /// (the low and the high nibbles) and 8 of them (30720) fit in 2^15, so 4 steps add with plain
    /// `vpaddw` and one `vpmaddwd` by 1 widens them: 9 multiplies per 32 k instead of 16.
    var narrowSteps: Int? { instruction.kind == .avx2Pmaddwd && bits == 4 ? 4 : nil }

    /// `acc16 + pairs(weights, a)` (`<2·lanes x i16>`; no accumulator yet: the pairs alone), for
    /// `narrowSteps`' instructions.
    func narrowDot(_ b: IRBuilder, _ acc16: IRValue?, weights: IRValue, a: IRValue) -> IRValue {
        let bytes = context.vector(context.i8, 4 * lanes)
        let (ubsw, ubswType) = pmaddubsw!
        let pairs = b.call(ubsw, type: ubswType, [b.bitcast(weights, to: bytes), b.bitcast(a, to: bytes)])
        return acc16.map { b.add($0, pairs) } ?? pairs
    }

    /// `acc + widen(acc16)` (no accumulator: the widened sums alone): the i16 lanes added pairwise
    /// into `<lanes x i32>` (`vpmaddwd` by 1).
    func widen(_ b: IRBuilder, _ acc: IRValue?, _ acc16: IRValue) -> IRValue {
        let (madd, maddType) = pmaddwd!
        let ones = b.splat(context.constInt(context.i16, 1), count: 2 * lanes)
        let wide = b.call(madd, type: maddType, [acc16, ones])
        return acc.map { b.add($0, wide) } ?? wide
    }

    /// `acc + dot(weights, a)`: all three `<lanes x i32>`.
    func dot(_ b: IRBuilder, _ acc: IRValue, weights: IRValue, a: IRValue) -> IRValue {
        let bytes = context.vector(context.i8, 4 * lanes), words = context.vector(context.i16, 2 * lanes)
        switch instruction.kind {
        case .avx512Vpdpbusd, .avxVnniVpdpbusd, .neonSdot, .i8mmSmmla, .amxTile:
            return group!.dot(b, acc, weights, a)
        case .avx2Pmaddwd:
            let (madd, maddType) = pmaddwd!
            if bits == 4 {
                let (ubsw, ubswType) = pmaddubsw!
                let pairs = b.call(ubsw, type: ubswType, [b.bitcast(weights, to: bytes), b.bitcast(a, to: bytes)])
                let ones = b.splat(context.constInt(context.i16, 1), count: 2 * lanes)
                return b.add(acc, b.call(madd, type: maddType, [pairs, ones]))
            }
            let w = b.bitcast(weights, to: words), x = b.bitcast(a, to: words)
            let eight = b.splat(context.constInt(context.i16, 8), count: 2 * lanes)
            let wEven = b.and(w, b.splat(context.constInt(context.i16, 0xFF), count: 2 * lanes)), wOdd = b.lshr(w, eight)
            let xEven = b.ashr(b.shl(x, eight), eight), xOdd = b.ashr(x, eight)
            let even = b.call(madd, type: maddType, [wEven, xEven]), odd = b.call(madd, type: maddType, [wOdd, xOdd])
            return b.add(acc, b.add(even, odd))
        case .portableWidening:
            let ints = context.vector(context.i32, 4 * lanes)
            let products = b.mul(b.zext(b.bitcast(weights, to: bytes), to: ints), b.sext(b.bitcast(a, to: bytes), to: ints))
            let pairs = b.add(b.shuffle(products, products, (0..<(2 * lanes)).map { 2 * $0 }),
                              b.shuffle(products, products, (0..<(2 * lanes)).map { 2 * $0 + 1 }))
            return b.add(acc, b.add(b.shuffle(pairs, pairs, (0..<lanes).map { 2 * $0 }),
                                    b.shuffle(pairs, pairs, (0..<lanes).map { 2 * $0 + 1 })))
        }
    }
}
