/// The transcendental activations as QuantForge defines them: rational approximations (Eigen's
/// float `erf` and `tanh`, max error a few ulp) written only with fused multiply-adds, products,
/// one division and clamps, and GELU as a piecewise polynomial (no division). The kernels evaluate the same operations in the same order on vectors
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

    /// GELU's even part `g(t) = (t/2)·erf(t/√2)` on [0, 6): one degree-4 polynomial per interval of
    /// 6/16, in the interval's local coordinate u ∈ [0, 1); `geluCoefficients[k][i]` multiplies uᵏ
    /// on interval i (least squares on Chebyshev nodes; interval 0 is u²·(…) so that g(0) = 0).
    /// Division-free, and the coefficients of an interval are picked by a 16-entry table lookup,
    /// which the kernels do with one permute per coefficient.
    public static let geluCoefficients: [[Float]] = [
        [
            0, 0.054813992232084274, 0.20502975583076477, 0.4159187376499176,
            0.6497890949249268, 0.880506694316864, 1.0974948406219482, 1.301127314567566,
            1.4959503412246704, 1.6862543821334839, 1.8746684789657593, 2.0624234676361084,
            2.2499847412109375, 2.43749737739563, 2.624999523162842, 2.8125,
        ],
        [
            0, 0.10708925873041153, 0.18719600141048431, 0.22802166640758514,
            0.23530568182468414, 0.22447305917739868, 0.20969997346401215, 0.19840167462825775,
            0.19197921454906464, 0.1890583485364914, 0.18796230852603912, 0.1876174658536911,
            0.1875256448984146, 0.1875048130750656, 0.18750077486038208, 0.18750010430812836,
        ],
        [
            0.056120529770851135, 0.04874681308865547, 0.03054823726415634, 0.01096965093165636,
            -0.00231340853497386, -0.007381461560726166, -0.006865820847451687, -0.004383846186101437,
            -0.002178250113502145, -0.0008807071717455983, -0.0002960072597488761, -8.370261639356613e-05,
            -2.0063112970092334e-05, -4.096988959645387e-06, -7.152935381782299e-07, -1.0705232256214003e-07,
        ],
        [
            -8.01970818429254e-05, -0.005093567073345184, -0.007142262067645788, -0.005821429658681154,
            -0.002890900708734989, -0.00040515276486985385, 0.0007577319629490376, 0.0008743731887079775,
            0.0005765173700638115, 0.00028046197257936, 0.00010814450797624886, 3.4104919905075803e-05,
            8.94648655958008e-06, 1.9724006961041596e-06, 3.6797703728552733e-07, 5.837451766410595e-08,
        ],
        [
            -0.0012269571889191866, -0.0005273454589769244, 0.00028668000595644116, 0.0007005405495874584,
            0.0006164556834846735, 0.0003019129508174956, 4.065142275067046e-05, -6.918935832800344e-05,
            -7.344765617744997e-05, -4.4055534090148285e-05, -1.935884210979566e-05, -6.7069236138195265e-06,
            -1.8925302356365137e-06, -4.4271686761021556e-07, -8.679856478011061e-08, -1.4367142142646117e-08,
        ],
    ]
    public static let geluLimit: Float = 6
    public static let geluIntervalsPerUnit: Float = 16.0 / 6.0

    /// `gelu(x) = x·Φ(x) = x/2 + g(|x|)`: `g` from the piecewise polynomial below 6, and
    /// `gelu(x) = max(x, 0)` from 6 on (where erf(t/√2) rounds to 1); NaN stays NaN. Absolute error
    /// below 4e-7 against the exact function.
    @inline(__always)
    public static func gelu(_ x: Float) -> Float {
        let t = abs(x)
        if t >= geluLimit { return x > 0 ? x : 0 }
        let s = t * geluIntervalsPerUnit
        let floor = s.rounded(.down)
        let interval = floor < 15 ? floor : 15  // NaN → 15, as the kernels' select does
        let u = s - interval
        let i = Int(interval)
        var p = geluCoefficients[4][i]
        p = geluCoefficients[3][i].addingProduct(p, u)
        p = geluCoefficients[2][i].addingProduct(p, u)
        p = geluCoefficients[1][i].addingProduct(p, u)
        p = geluCoefficients[0][i].addingProduct(p, u)
        return p.addingProduct(0.5, x)
    }
}
