/// The transcendental activations as QuantForge defines them: rational approximations (Eigen's
/// float `erf` and `tanh`, max error a few ulp) written only with fused multiply-adds, products,
/// one division and clamps. The kernels evaluate the same operations in the same order on vectors
/// (`llvm.fma`), so every kernel is bit-exact with these scalar definitions.
public enum RealFunctions {
    /// Coefficients of `erf(x) ≈ x·P(x²) / Q(x²)` on [-4, 4] (±1 outside).
    public static let erfNumerator: [Float] = [
        -2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
        -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02,
    ]
    public static let erfDenominator: [Float] = [
        -1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
        -1.42647390514189e-02,
    ]
    public static let erfClamp: Float = 4

    /// Coefficients of `tanh(x) ≈ x·P(x²) / Q(x²)` on [-7.9053, 7.9053] (±1 outside).
    public static let tanhNumerator: [Float] = [
        -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
        1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03,
    ]
    public static let tanhDenominator: [Float] = [
        1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03,
    ]
    public static let tanhClamp: Float = 7.90531110763549805

    /// `x·P(x²) / Q(x²)` with Horner's rule in fused multiply-adds, x clamped to [-c, c] first.
    @inline(__always)
    static func oddRational(_ value: Float, clamp c: Float, numerator: [Float], denominator: [Float]) -> Float {
        let x = value < -c ? -c : (value > c ? c : value)
        let x2 = x * x
        var p = numerator[0]
        for coefficient in numerator.dropFirst() { p = coefficient.addingProduct(x2, p) }
        p = x * p
        var q = denominator[0]
        for coefficient in denominator.dropFirst() { q = coefficient.addingProduct(x2, q) }
        return p / q
    }

    @inline(__always)
    public static func erf(_ x: Float) -> Float {
        oddRational(x, clamp: erfClamp, numerator: erfNumerator, denominator: erfDenominator)
    }

    @inline(__always)
    public static func tanh(_ x: Float) -> Float {
        oddRational(x, clamp: tanhClamp, numerator: tanhNumerator, denominator: tanhDenominator)
    }

    /// `sigmoid(x) = 0.5 + 0.5·tanh(x/2)`.
    @inline(__always)
    public static func sigmoid(_ x: Float) -> Float { Float(0.5).addingProduct(0.5, tanh(0.5 * x)) }

    /// `gelu(x) = h + h·erf(x/√2)` with `h = x/2`.
    @inline(__always)
    public static func gelu(_ x: Float) -> Float {
        let h = 0.5 * x
        return h.addingProduct(h, erf(x * 0.707106769084930419921875))
    }
}
