import Foundation
import QuantOps
import Testing

/// QuantForge's rational erf/tanh (and the sigmoid built on them) and its piecewise-polynomial GELU
/// stay within a few float ulps of libm over the whole line, so that quantized tables and epilogues
/// are accurate.
struct RealFunctionsTests {
    @Test func closeToLibm() {
        var worst: (erf: Double, tanh: Double, gelu: Double, sigmoid: Double) = (0, 0, 0, 0)
        for i in -20_000...20_000 {
            let x = Float(i) / 1000
            let d = Double(x)
            worst.erf = max(worst.erf, abs(Double(RealFunctions.erf(x)) - Foundation.erf(d)))
            worst.tanh = max(worst.tanh, abs(Double(RealFunctions.tanh(x)) - Foundation.tanh(d)))
            let gelu = 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))
            worst.gelu = max(worst.gelu, abs(Double(RealFunctions.gelu(x)) - gelu) / max(1, abs(gelu)))
            worst.sigmoid = max(worst.sigmoid, abs(Double(RealFunctions.sigmoid(x)) - 1 / (1 + Foundation.exp(-d))))
        }
        #expect(worst.erf < 2e-6, "erf error \(worst.erf)")
        #expect(worst.tanh < 2e-6, "tanh error \(worst.tanh)")
        #expect(worst.gelu < 4e-6, "gelu error \(worst.gelu)")
        #expect(worst.sigmoid < 2e-6, "sigmoid error \(worst.sigmoid)")
        #expect(abs(RealFunctions.erf(100) - 1) <= 3e-7 && abs(RealFunctions.tanh(-100) + 1) <= 3e-7)
    }

    /// GELU's piecewise cubic: absolute error against the exact x·Φ(x) over [-10, 10] in steps of
    /// 1e-4 (and at every interval boundary), and its special values.
    @Test func geluIsAccurateEverywhere() {
        var worst = 0.0, worstAt: Float = 0
        for i in -100_000...100_000 {
            let x = Float(i) / 10_000
            let d = Double(x), exact = 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))
            let error = abs(Double(RealFunctions.gelu(x)) - exact)
            if error > worst { (worst, worstAt) = (error, x) }
        }
        // tools/fit_gelu.py measures 6.4e-7 on a finer grid.
        #expect(worst < 7e-7, "gelu error \(worst) at \(worstAt)")
        // Interval boundaries ((i + 1/2)/k): both sides agree to within the error bound.
        for i in 0..<31 {
            let boundary = (Float(i) + 0.5) / RealFunctions.geluIntervalsPerUnit
            for x in [boundary, -boundary] {
                let below = RealFunctions.gelu(x.nextDown), above = RealFunctions.gelu(x.nextUp)
                #expect(abs(above - below) < 2e-6, "jump at \(x): \(below) → \(above)")
            }
        }
        #expect(RealFunctions.gelu(0) == 0 && RealFunctions.gelu(-0.0) == 0)
        #expect(RealFunctions.gelu(6) == 6 && RealFunctions.gelu(1e30) == 1e30 && RealFunctions.gelu(.infinity) == .infinity)
        // From -6 down, -h(6) = -5.9e-9: the true value at -6, and within 6e-9 of 0 beyond.
        for x: Float in [-6, -7.5, -1e30, -.infinity] {
            #expect(RealFunctions.gelu(x) <= 0 && RealFunctions.gelu(x) > -1e-8, "gelu(\(x)) = \(RealFunctions.gelu(x))")
        }
        #expect(RealFunctions.gelu(.nan).isNaN)
    }

    /// GELU times r in one rounding (a requantizing chain's last step): within the same error of
    /// r·gelu(x), and exactly `gelu` for r = 1.
    @Test func scaledGELU() {
        for r: Float in [1, 0.37, 3, 41.7, 250] {
            let scaled = RealFunctions.ScaledGELU(scale: r)
            var worst = 0.0
            for i in -20_000...20_000 {
                let x = Float(i) / 2_500
                if r == 1 { #expect(scaled(x).bitPattern == RealFunctions.gelu(x).bitPattern) }
                let d = Double(x), exact = 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot())) * Double(r)
                worst = max(worst, abs(Double(scaled(x)) - exact) / Double(r))
            }
            #expect(worst < 7e-7, "scale \(r): error \(worst)")
            #expect(scaled(.nan).isNaN && scaled(0) == 0 && scaled(.infinity) == .infinity)
        }
    }

    @Test func dynamicQuantizationParameters() {
        // ONNX's example: x in [-3, 2] → scale 5/255, zero point round(3 / scale) = 153.
        let (scale, zeroPoint) = DynamicQuantizeLinear.parameters(minimum: -3, maximum: 2)
        #expect(scale == Float(5) / 255 && zeroPoint == 153)
        // All zeros: scale 1 (ONNX Runtime), zero point 0; positive data: zero point 0.
        #expect(DynamicQuantizeLinear.parameters(minimum: 0, maximum: 0) == (1, 0))
        #expect(DynamicQuantizeLinear.parameters(minimum: 1, maximum: 5).1 == 0)
        #expect(DynamicQuantizeLinear.parameters(minimum: -4, maximum: -1).1 == 255)
    }
}
