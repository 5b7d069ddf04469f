import LLVMKit
import QuantOps
import QuantSchedule

/// The real-domain functions of epilogues on float vectors, operation for operation what
/// `Activation.apply` and `RealFunctions` do on scalars (fused multiply-adds as `llvm.fma`, no
/// other contraction), so that kernels stay bit-exact with the reference.
struct VectorMath {
    let module: Module
    let b: IRBuilder
    let lanes: Int
    /// The kernel's instruction set: it picks how 16-entry tables are looked up (AVX-512 and AVX2
    /// permutes, or one lane at a time).
    var isa: ISA = .portable
    /// The vector extension behind `isa` — its vector instruction's (an AMX kernel's epilogue runs
    /// on AVX-512) — which decides the forms below.
    private var vectorISA: ISA { (try? InstructionTable.vectorInstruction(for: isa).isa) ?? isa }

    var context: Context { module.context }
    var floats: IRType { context.vector(context.f32, lanes) }

    func splat(_ x: Float) -> IRValue { context.constVector(Array(repeating: context.constFloat(x), count: lanes)) }

    /// `c + a·b`, rounded once.
    func fma(_ a: IRValue, _ b: IRValue, _ c: IRValue) -> IRValue {
        let fma = try! module.intrinsic("llvm.fma", overloads: [floats])
        return self.b.call(fma.function, type: fma.type, [a, b, c])
    }

    /// `x < lower ? lower : (x > upper ? upper : x)` (bounds may be infinite: then skipped).
    func clamp(_ x: IRValue, _ lower: Float, _ upper: Float) -> IRValue {
        var value = x
        if upper < .infinity { value = b.select(b.fcmp(.ogt, value, splat(upper)), splat(upper), value) }
        if lower > -.infinity { value = b.select(b.fcmp(.olt, x, splat(lower)), splat(lower), value) }
        return value
    }

    /// `body` applied to each `width`-lane slice of `x` (one machine register, for intrinsics of a
    /// fixed width), the results side by side again.
    func perRegister(_ x: IRValue, width: Int, _ body: (IRValue) -> IRValue) -> IRValue {
        b.concat((0..<(lanes / width)).map { chunk in body(b.slice(x, from: chunk * width, count: width)) })
    }

    func apply(_ activation: Activation, _ x: IRValue) -> IRValue {
        switch activation {
        case .none: return x
        case .relu: return clamp(x, 0, .infinity)
        case let .clamp(lower, upper): return clamp(x, lower, upper)
        case .tanh: return tanh(x)
        case .sigmoid: return fma(splat(0.5), tanh(b.fmul(splat(0.5), x)), splat(0.5))
        case .gelu: return gelu(x)
        }
    }

    /// `RealFunctions.gelu` (`scale` 1) or `RealFunctions.ScaledGELU(scale:)`: max(x, 0)·r - h_r(t)
    /// for t = min(|x|, 6), h_r the interval's cubic in t with coefficients from 32-entry tables.
    func gelu(_ x: IRValue, scale r: Float = 1) -> IRValue {
        let ints = context.vector(context.i32, lanes)
        let t = clampedMagnitude(x, RealFunctions.geluLimit)
        // w = 2^23 + RNE(t·k): the interval's index sits in w's low mantissa bits.
        let w = fma(t, splat(RealFunctions.geluIntervalsPerUnit), splat(RealFunctions.geluIndexBias))
        let index = b.bitcast(w, to: ints)
        let c = r == 1 ? RealFunctions.geluCoefficients : RealFunctions.ScaledGELU(scale: r).coefficients
        var p = lookup32(c[3], index)
        for d in stride(from: 2, through: 0, by: -1) { p = fma(p, t, lookup32(c[d], index)) }
        let positive = b.select(b.fcmp(.ogt, x, splat(0)), x, splat(0))
        return r == 1 ? b.fadd(positive, p) : fma(positive, splat(r), p)
    }

    /// `min(|x|, limit)`, NaN staying NaN: one `vrangeps` per 16 lanes on AVX-512 (the operand of
    /// smaller magnitude, sign cleared), else an absolute value and a select.
    func clampedMagnitude(_ x: IRValue, _ limit: Float) -> IRValue {
        if vectorISA == .avx512vnni && lanes % 16 == 0 {
            let range = try! module.intrinsic("llvm.x86.avx512.mask.range.ps.512")
            let i32 = context.i32
            func sixteen(_ v: Float) -> IRValue { context.constVector(Array(repeating: context.constFloat(v), count: 16)) }
            let absoluteMinimumSignCleared = context.constInt(i32, 0b1010), currentRounding = context.constInt(i32, 4)
            return perRegister(x, width: 16) {
                b.call(range.function, type: range.type, [$0, sixteen(limit), absoluteMinimumSignCleared, sixteen(0),
                                                          context.constInt(context.i16, -1), currentRounding])
            }
        }
        let fabs = try! module.intrinsic("llvm.fabs", overloads: [floats])
        let magnitude = b.call(fabs.function, type: fabs.type, [x])
        return b.select(b.fcmp(.ogt, magnitude, splat(limit)), splat(limit), magnitude)
    }

    /// `table[index & 31]` per lane: one two-table `vpermi2ps` on zmm (AVX-512, which reads only
    /// the low 5 bits), four `vpermps` on ymm and three blends (AVX2), or one lane at a time
    /// elsewhere.
    func lookup32(_ table: [Float], _ rawIndex: IRValue) -> IRValue {
        precondition(table.count == 32)
        let i32 = context.i32
        func constants(_ values: ArraySlice<Float>) -> IRValue { context.constVector(values.map { context.constFloat($0) }) }
        func splat(_ v: Int32, _ count: Int) -> IRValue { context.constVector(Array(repeating: context.constInt(i32, Int64(v)), count: count)) }
        let isa = vectorISA
        let x86 = isa == .avx2 || isa == .avxvnni || isa == .avx512vnni
        switch isa {
        case .avx512vnni where lanes % 16 == 0:
            let permute = try! module.intrinsic("llvm.x86.avx512.vpermi2var.ps.512")
            let low = constants(table[0..<16]), high = constants(table[16..<32])
            return perRegister(rawIndex, width: 16) { b.call(permute.function, type: permute.type, [low, $0, high]) }
        case _ where x86 && lanes % 8 == 0:
            let permute = try! module.intrinsic("llvm.x86.avx2.permps")
            let quarters = (0..<4).map { constants(table[($0 * 8)..<($0 * 8 + 8)]) }
            return perRegister(rawIndex, width: 8) { lanesIndex in
                let index = b.and(lanesIndex, splat(31, 8))
                let picked = quarters.map { b.call(permute.function, type: permute.type, [$0, index]) }
                let bit8 = b.icmp(.ne, b.and(index, splat(8, 8)), splat(0, 8))
                let bit16 = b.icmp(.ne, b.and(index, splat(16, 8)), splat(0, 8))
                return b.select(bit16, b.select(bit8, picked[3], picked[2]), b.select(bit8, picked[1], picked[0]))
            }
        default:
            // One load per lane from the table as a module constant (a variable extract from a
            // constant vector would store the whole vector to the stack for every lane).
            let global = constantTable(table)
            let index = b.and(rawIndex, splat(31, lanes))
            var result = context.undef(floats)
            for lane in 0..<lanes {
                let offset = b.mul(b.zext(b.extractElement(index, lane), to: context.i64), context.constInt(context.i64, 4))
                result = b.insertElement(result, b.load(context.f32, from: b.byteOffset(global, offset), align: 4), lane)
            }
            return result
        }
    }

    /// `table` as a private constant array of the module, added once per module and table.
    private func constantTable(_ table: [Float]) -> IRValue {
        var hash = StableHash()
        table.withUnsafeBytes { hash.combine(bytes: $0.bindMemory(to: UInt8.self)) }
        let name = "table.\(hash.hex)"
        if let existing = module.global(named: name) { return existing }
        return module.addConstant(name, context.constArray(context.f32, table.map { context.constFloat($0) }))
    }

    func tanh(_ x: IRValue) -> IRValue {
        oddRational(x, clamp: RealFunctions.tanhClamp, RealFunctions.tanhNumerator, RealFunctions.tanhDenominator)
    }

    private func oddRational(_ value: IRValue, clamp c: Float, _ numerator: [Float], _ denominator: [Float]) -> IRValue {
        let x = clamp(value, -c, c)
        let x2 = b.fmul(x, x)
        var p = splat(numerator[0])
        for coefficient in numerator.dropFirst() { p = fma(x2, p, splat(coefficient)) }
        p = b.fmul(x, p)
        var q = splat(denominator[0])
        for coefficient in denominator.dropFirst() { q = fma(x2, q, splat(coefficient)) }
        return b.fdiv(p, q)
    }

    /// `RealFunctions.exp`, operation for operation.
    func exp(_ x: IRValue, portable: Bool) -> IRValue {
        let ints = context.vector(context.i32, lanes)
        let t = clamp(x, RealFunctions.expLowerClamp, RealFunctions.expUpperClamp)
        let n = roundHalfToEven(b.fmul(t, splat(RealFunctions.log2e)), portable: portable)
        var r = fma(n, splat(-RealFunctions.ln2High), t)
        r = fma(n, splat(-RealFunctions.ln2Low), r)
        var p = splat(RealFunctions.expPolynomial[0])
        for c in RealFunctions.expPolynomial.dropFirst() { p = fma(p, r, splat(c)) }
        let y = b.fadd(fma(p, b.fmul(r, r), r), splat(1))
        let bias = context.constVector(Array(repeating: context.constInt(context.i32, 127), count: lanes))
        let shift = context.constVector(Array(repeating: context.constInt(context.i32, 23), count: lanes))
        let power = b.bitcast(b.shl(b.add(b.fptosi(n, to: ints), bias), shift), to: floats)
        let result = b.fmul(y, power)
        return b.select(b.fcmp(.uno, x, x), x, result)
    }

    /// Round half to even. Without SSE4.1 (the portable x86 path) LLVM would call libm, so it adds
    /// and subtracts 1.5·2^23 instead, exact for |x| < 2^22 (callers clamp first).
    func roundHalfToEven(_ value: IRValue, portable: Bool) -> IRValue {
        if portable {
            let magic = splat(12_582_912)
            return b.fsub(b.fadd(value, magic), magic)
        }
        let roundEven = try! module.intrinsic("llvm.roundeven", overloads: [floats])
        return b.call(roundEven.function, type: roundEven.type, [value])
    }

    /// `clamp(RNE(x) + zp, range)` for lanes the caller proved to be numbers below 2^30 in
    /// magnitude: rounded and clamped as integers, which equals clamping first (rounding is
    /// monotone and the bounds are integers) and lets the code generator use saturating narrowing
    /// stores (`vpmovusdb`, `vpmovsdb`) for a type's whole range. A bound the values cannot reach
    /// (`clampsLower`/`clampsUpper` false) is not compared against.
    func roundAndClamp(_ x: IRValue, zeroPoint: Int32, range: ClosedRange<Int32>, clampsLower: Bool, clampsUpper: Bool,
                       portable: Bool) -> IRValue {
        func splat(_ v: Int32) -> IRValue { context.constVector(Array(repeating: context.constInt(context.i32, Int64(v)), count: lanes)) }
        var q = b.add(roundToInt32(x, portable: portable), splat(zeroPoint))
        if clampsLower { q = b.select(b.icmp(.slt, q, splat(range.lowerBound)), splat(range.lowerBound), q) }
        // From here q ≥ range.lowerBound; when that is ≥ 0 an unsigned minimum is the same, and it
        // makes the narrowing store one saturating `vpmovusdb`.
        let above: IntPredicate = range.lowerBound >= 0 ? .ugt : .sgt
        if clampsUpper { q = b.select(b.icmp(above, q, splat(range.upperBound)), splat(range.upperBound), q) }
        return q
    }

    /// `RNE(x)` as i32 lanes (callers keep |x| < 2^31): on AVX-512 one `vcvtps2dq` with embedded
    /// round-to-nearest-even (the MXCSR mode is not consulted), elsewhere round then truncate.
    func roundToInt32(_ x: IRValue, portable: Bool) -> IRValue {
        let ints = context.vector(context.i32, lanes)
        guard vectorISA == .avx512vnni, lanes % 16 == 0 else { return b.fptosi(roundHalfToEven(x, portable: portable), to: ints) }
        let convert = try! module.intrinsic("llvm.x86.avx512.mask.cvtps2dq.512")
        let i32 = context.i32
        let passThrough = context.constVector(Array(repeating: context.constInt(i32, 0), count: 16))
        let allLanes = context.constInt(context.i16, -1), nearestEven = context.constInt(i32, 8)  // _MM_FROUND_TO_NEAREST_INT | NO_EXC
        return perRegister(x, width: 16) { b.call(convert.function, type: convert.type, [$0, passThrough, allLanes, nearestEven]) }
    }

    /// QuantizeLinear `sat(RNE(x / scale) + zp)` of f32 lanes, as i32 lanes; `scale` and `zeroPoint`
    /// are vectors (f32, i32), `range` the type's.
    func quantize(_ x: IRValue, scale: IRValue, zeroPoint: IRValue, range: ClosedRange<Int32>, portable: Bool) -> IRValue {
        let context = module.context
        func splat(_ v: Int32) -> IRValue { context.constVector(Array(repeating: context.constInt(context.i32, Int64(v)), count: lanes)) }
        let lower = b.sitofp(b.sub(splat(range.lowerBound), zeroPoint), to: floats)
        let upper = b.sitofp(b.sub(splat(range.upperBound), zeroPoint), to: floats)
        return saturatingRound(b.fdiv(x, scale), zeroPoint: zeroPoint, lowerMinusZero: lower, upperMinusZero: upper,
                               portable: portable)
    }

    /// QuantizeLinear of a vector already divided by the scale: NaN → 0, clamped to
    /// [lower - zp, upper - zp], rounded half to even, plus the zero point (i32 lanes).
    /// `canBeNaN: false` (the caller proved every lane is a number) leaves out the NaN select.
    func saturatingRound(_ scaled: IRValue, zeroPoint: IRValue, lowerMinusZero: IRValue,
                         upperMinusZero: IRValue, portable: Bool, canBeNaN: Bool = true) -> IRValue {
        let notNaN = canBeNaN ? b.select(b.fcmp(.uno, scaled, scaled), splat(0), scaled) : scaled
        var value = b.select(b.fcmp(.ogt, notNaN, upperMinusZero), upperMinusZero, notNaN)
        value = b.select(b.fcmp(.olt, notNaN, lowerMinusZero), lowerMinusZero, value)
        return b.add(roundToInt32(value, portable: portable), zeroPoint)
    }
}
