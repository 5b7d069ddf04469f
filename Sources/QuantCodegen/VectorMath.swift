import CLLVM
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

    var context: Context { module.context }
    var floats: LLVMTypeRef { context.vector(context.f32, lanes) }

    func splat(_ x: Float) -> LLVMValueRef { context.constVector(Array(repeating: context.constFloat(x), count: lanes)) }

    /// `c + a·b`, rounded once.
    func fma(_ a: LLVMValueRef, _ b: LLVMValueRef, _ c: LLVMValueRef) -> LLVMValueRef {
        let fma = try! module.intrinsic("llvm.fma", overloads: [floats])
        return self.b.call(fma.function, type: fma.type, [a, b, c])
    }

    /// `x < lower ? lower : (x > upper ? upper : x)` (bounds may be infinite: then skipped).
    func clamp(_ x: LLVMValueRef, _ lower: Float, _ upper: Float) -> LLVMValueRef {
        var value = x
        if upper < .infinity { value = b.select(b.fcmp(LLVMRealOGT, value, splat(upper)), splat(upper), value) }
        if lower > -.infinity { value = b.select(b.fcmp(LLVMRealOLT, x, splat(lower)), splat(lower), value) }
        return value
    }

    func apply(_ activation: Activation, _ x: LLVMValueRef) -> LLVMValueRef {
        switch activation {
        case .none: return x
        case .relu: return clamp(x, 0, .infinity)
        case let .clamp(lower, upper): return clamp(x, lower, upper)
        case .tanh: return tanh(x)
        case .sigmoid: return fma(splat(0.5), tanh(b.fmul(splat(0.5), x)), splat(0.5))
        case .gelu: return gelu(x)
        }
    }

    /// `RealFunctions.gelu`: x/2 + g(|x|), g from the interval's degree-4 polynomial (coefficients
    /// by table lookup), max(x, 0) from `geluLimit` on.
    func gelu(_ x: LLVMValueRef) -> LLVMValueRef {
        let ints = context.vector(context.i32, lanes)
        let fabs = try! module.intrinsic("llvm.fabs", overloads: [floats])
        let floor = try! module.intrinsic("llvm.floor", overloads: [floats])
        let t = b.call(fabs.function, type: fabs.type, [x])
        let s = b.fmul(t, splat(RealFunctions.geluIntervalsPerUnit))
        let whole = b.call(floor.function, type: floor.type, [s])
        let interval = b.select(b.fcmp(LLVMRealOLT, whole, splat(15)), whole, splat(15))  // NaN → 15
        let u = b.fsub(s, interval)
        let index = b.fptosi(interval, to: ints)
        let c = RealFunctions.geluCoefficients
        var p = lookup16(c[4], index)
        for k in stride(from: 3, through: 0, by: -1) { p = fma(p, u, lookup16(c[k], index)) }
        let polynomial = fma(splat(0.5), x, p)
        let positive = b.select(b.fcmp(LLVMRealOGT, x, splat(0)), x, splat(0))
        return b.select(b.fcmp(LLVMRealOGE, t, splat(RealFunctions.geluLimit)), positive, polynomial)
    }

    /// `table[index]` per lane (`index` in 0..<16): `vpermps` on zmm (AVX-512), two `vpermps` on
    /// ymm and a blend (AVX2), or one lane at a time elsewhere.
    func lookup16(_ table: [Float], _ index: LLVMValueRef) -> LLVMValueRef {
        precondition(table.count == 16)
        let i32 = context.i32
        func constants(_ values: ArraySlice<Float>) -> LLVMValueRef { context.constVector(values.map { context.constFloat($0) }) }
        let x86 = isa == .avx2 || isa == .avxvnni || isa == .avx512vnni
        switch isa {
        case .avx512vnni where lanes % 16 == 0:
            let permute = try! module.intrinsic("llvm.x86.avx512.permvar.sf.512")
            let entries = constants(table[...])
            return b.concat((0..<(lanes / 16)).map { chunk in
                b.call(permute.function, type: permute.type, [entries, b.slice(index, from: chunk * 16, count: 16)])
            })
        case _ where x86 && lanes % 8 == 0:
            let permute = try! module.intrinsic("llvm.x86.avx2.permps")
            let low = constants(table[0..<8]), high = constants(table[8..<16])
            let eights = context.constVector(Array(repeating: context.constInt(i32, 8), count: 8))
            return b.concat((0..<(lanes / 8)).map { chunk in
                let lanesIndex = b.slice(index, from: chunk * 8, count: 8)
                let fromLow = b.call(permute.function, type: permute.type, [low, lanesIndex])
                let fromHigh = b.call(permute.function, type: permute.type, [high, lanesIndex])
                return b.select(b.icmp(LLVMIntSLT, lanesIndex, eights), fromLow, fromHigh)
            })
        default:
            let entries = constants(table[...])
            var result = LLVMGetUndef(floats)!
            for lane in 0..<lanes {
                let entry = LLVMBuildExtractElement(b.ref, entries, b.extractElement(index, lane), "")!
                result = b.insertElement(result, entry, lane)
            }
            return result
        }
    }

    func tanh(_ x: LLVMValueRef) -> LLVMValueRef {
        oddRational(x, clamp: RealFunctions.tanhClamp, RealFunctions.tanhNumerator, RealFunctions.tanhDenominator)
    }

    private func oddRational(_ value: LLVMValueRef, clamp c: Float, _ numerator: [Float], _ denominator: [Float]) -> LLVMValueRef {
        let x = clamp(value, -c, c)
        let x2 = b.fmul(x, x)
        var p = splat(numerator[0])
        for coefficient in numerator.dropFirst() { p = fma(x2, p, splat(coefficient)) }
        p = b.fmul(x, p)
        var q = splat(denominator[0])
        for coefficient in denominator.dropFirst() { q = fma(x2, q, splat(coefficient)) }
        return LLVMBuildFDiv(b.ref, p, q, "")
    }

    /// Round half to even. Without SSE4.1 (the portable x86 path) LLVM would call libm, so it adds
    /// and subtracts 1.5·2^23 instead, exact for |x| < 2^22 (callers clamp first).
    func roundHalfToEven(_ value: LLVMValueRef, portable: Bool) -> LLVMValueRef {
        if portable {
            let magic = splat(12_582_912)
            return b.fsub(b.fadd(value, magic), magic)
        }
        let roundEven = try! module.intrinsic("llvm.roundeven", overloads: [floats])
        return b.call(roundEven.function, type: roundEven.type, [value])
    }

    /// QuantizeLinear `sat(RNE(x / scale) + zp)` of f32 lanes, as i32 lanes; `scale` and `zeroPoint`
    /// are vectors (f32, i32), `range` the type's.
    func quantize(_ x: LLVMValueRef, scale: LLVMValueRef, zeroPoint: LLVMValueRef, range: ClosedRange<Int32>, portable: Bool) -> LLVMValueRef {
        let context = module.context
        func splat(_ v: Int32) -> LLVMValueRef { context.constVector(Array(repeating: context.constInt(context.i32, Int64(v)), count: lanes)) }
        let lower = b.sitofp(b.sub(splat(range.lowerBound), zeroPoint), to: floats)
        let upper = b.sitofp(b.sub(splat(range.upperBound), zeroPoint), to: floats)
        return saturatingRound(LLVMBuildFDiv(b.ref, x, scale, "")!, zeroPoint: zeroPoint, lowerMinusZero: lower, upperMinusZero: upper,
                               portable: portable)
    }

    /// QuantizeLinear of a vector already divided by the scale: NaN → 0, clamped to
    /// [lower - zp, upper - zp], rounded half to even, plus the zero point (i32 lanes).
    func saturatingRound(_ scaled: LLVMValueRef, zeroPoint: LLVMValueRef, lowerMinusZero: LLVMValueRef,
                         upperMinusZero: LLVMValueRef, portable: Bool) -> LLVMValueRef {
        let ints = context.vector(context.i32, lanes)
        let notNaN = b.select(b.fcmp(LLVMRealUNO, scaled, scaled), splat(0), scaled)
        var value = b.select(b.fcmp(LLVMRealOGT, notNaN, upperMinusZero), upperMinusZero, notNaN)
        value = b.select(b.fcmp(LLVMRealOLT, notNaN, lowerMinusZero), lowerMinusZero, value)
        return b.add(b.fptosi(roundHalfToEven(value, portable: portable), to: ints), zeroPoint)
    }
}
