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

    /// Weight streams (panels) a GEMV row reads at once. AVX2's 4-bit i16 sums (one chain per
    /// accumulator) take three: Zen 3, alternated 3×, GMAC/s at 1×4096×4096 / 1×4096×11008 /
    /// 1×11008×4096: one panel 64–66 / 41–45 / 46, two 71–72 / 46–62 / 49–64, three 74–77 /
    /// 54–66 / 59–71, four 74–75 / 45–63 / 50–71. Elsewhere two (on Zen 5 with AVX-512 VNNI one,
    /// three or four were no better).
    var gemvStreams: Int { narrowSteps != nil ? 3 : 2 }

    /// Bytes ahead of each weight stream a GEMV row prefetches (every line of the block that far
    /// on), or nil: AVX2 only. Measured on Zen 3 (1 thread, 4-bit block 32, int8 compute, 28 MB of
    /// weights that stream from L3 and DRAM), alternated 3×, GMAC/s at 1×4096×11008 /
    /// 1×11008×4096: none 38.0–42.4 / 39.7–46.2, 512 bytes 35.5–37.7 / 34.4–38.7, 1 KiB
    /// 46.5–49.3 / 50.4–52.4, 2 KiB 44.6–52.4 / 47.6–54.9, 4 KiB 43.9–52.6 / 51.9–58.0;
    /// 1×4096×4096 (10 MB, in L3) 60.4–62.5 with each. On Zen 5 with AVX-512 VNNI prefetching
    /// made the GEMV slower or no faster (ARCHITECTURE.md, #18), so the other ISAs do not.
    var gemvPrefetchDistance: Int? { instruction.kind == .avx2Pmaddwd ? 2048 : nil }

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
            if bits == 4 { return widen(b, acc, narrowDot(b, nil, weights: weights, a: a)) }
            let (madd, maddType) = pmaddwd!
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
