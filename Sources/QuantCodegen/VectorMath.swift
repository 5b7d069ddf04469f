import CLLVM
import LLVMKit
import QuantOps

/// The real-domain functions of epilogues on float vectors, operation for operation what
/// `Activation.apply` and `RealFunctions` do on scalars (fused multiply-adds as `llvm.fma`, no
/// other contraction), so that kernels stay bit-exact with the reference.
struct VectorMath {
    let module: Module
    let b: IRBuilder
    let lanes: Int

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
        case .gelu:
            let h = b.fmul(splat(0.5), x)
            return fma(h, erf(b.fmul(x, splat(0.707106769084930419921875))), h)
        }
    }

    func erf(_ x: LLVMValueRef) -> LLVMValueRef {
        oddRational(x, clamp: RealFunctions.erfClamp, RealFunctions.erfNumerator, RealFunctions.erfDenominator)
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
