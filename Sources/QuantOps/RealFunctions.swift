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
    /// `e^x` as QuantForge's kernels compute it (softmax): x clamped to [-86.5, 88], n =
    /// RNE(x·log₂e), r = x - n·ln2 in two fused steps, Cephes' degree-5 polynomial p(r) by fma,
    /// `(fma(p, r², r) + 1) · 2ⁿ` with 2ⁿ built from its exponent bits (n ∈ [-125, 127]); NaN → NaN.
    /// Within 2 ulp of e^x on the clamp range. The lower bound keeps every result normal (≥ 2^-125·0.7):
    /// a subnormal result costs the hardware a microcode assist (softmax rows with logits 87 apart —
    /// real attention heads have them — ran 2–3× slower); below it e^x ≤ 2.7e-38 is returned as that.
    public static func exp(_ x: Float) -> Float {
        if x.isNaN { return x }
        let t = x < expLowerClamp ? expLowerClamp : (x > expUpperClamp ? expUpperClamp : x)
        let n = (t * log2e).rounded(.toNearestOrEven)
        var r = t.addingProduct(n, -ln2High)
        r = r.addingProduct(n, -ln2Low)
        var p = expPolynomial[0]
        for c in expPolynomial.dropFirst() { p = c.addingProduct(p, r) }
        let y = r.addingProduct(p, r * r) + 1
        return y * Float(bitPattern: UInt32(Int32(n) + 127) << 23)
    }
    public static let expLowerClamp: Float = -86.5
    public static let expUpperClamp: Float = 88
    public static let log2e: Float = 1.44269504088896341
    public static let ln2High: Float = 0.693359375
    public static let ln2Low: Float = -2.12194440e-4
    /// Cephes' expf coefficients, highest degree first.
    public static let expPolynomial: [Float] = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
                                                5.0000001201e-1]

    public static func sigmoid(_ x: Float) -> Float { Float(0.5).addingProduct(0.5, tanh(0.5 * x)) }

    /// GELU as QuantForge defines it: `gelu(x) = x·Φ(x) = max(x, 0) - h(t)`, where
    /// `h(t) = t·Φ(-t)` decays to 6e-9 at t = 6 and `t = min(|x|, 6)`. `h` is one cubic per
    /// interval, written in t itself: interval i is centred on i/k and picked by rounding t·k to the
    /// nearest integer, which `fma(t, k, 2^23)` leaves in its low mantissa bits (so a kernel needs
    /// no conversion, and AVX-512 looks the interval up with one two-table permute per coefficient).
    /// `geluCoefficients[d][i]` multiplies tᵈ on interval i and holds the coefficients of -h
    /// (near-minimax fits from `tools/fit_gelu.py`; interval 0 has no constant term, so GELU(0) = 0).
    /// Absolute error below 7e-7 everywhere (6.4e-7 measured).
    public static let geluCoefficients: [[Float]] = [
        [
            0.0, 6.256276537897065e-05, 0.0010408187517896295, 0.003927343524992466,
            0.006882930640131235, 0.0031218179501593113, -0.018062174320220947, -0.06699519604444504,
            -0.14799338579177856, -0.25548166036605835, -0.37407562136650085, -0.48279815912246704,
            -0.5615578889846802, -0.5971038341522217, -0.5861676931381226, -0.5351340174674988,
            -0.45682400465011597, -0.3662157654762268, -0.2766355276107788, -0.19745372235774994,
            -0.13347585499286652, -0.08561522513628006, -0.05219306796789169, -0.030282266438007355,
            -0.01674151048064232, -0.008828369900584221, -0.004444656893610954, -0.0021380260586738586,
            -0.0009833541698753834, -0.000432713539339602, -0.00018227491818834096, -7.35371359041892e-05,
        ],
        [
            -0.5000104904174805, -0.5015251636505127, -0.5115680694580078, -0.5298434495925903,
            -0.5435613989830017, -0.5310436487197876, -0.4710833728313446, -0.35309746861457825,
            -0.18333737552165985, 0.015786759555339813, 0.21261246502399445, 0.37607088685035706,
            0.4843709170818329, 0.5295596718788147, 0.517113208770752, 0.46188321709632874,
            0.3824131488800049, 0.295951247215271, 0.21531063318252563, 0.1478593945503235,
            0.09614120423793793, 0.05933194234967232, 0.03481904789805412, 0.01946130581200123,
            0.010373265482485294, 0.005278616212308407, 0.0025667771697044373, 0.001193619566038251,
            0.0005311950226314366, 0.00022636816720478237, 9.24233318073675e-05, 3.617080801632255e-05,
        ],
        [
            0.39961230754852295, 0.4122103452682495, 0.44720759987831116, 0.4860345423221588,
            0.5073112845420837, 0.4934333562850952, 0.4367922246456146, 0.34187355637550354,
            0.22318944334983826, 0.10015851259231567, -0.008779320865869522, -0.09072662889957428,
            -0.14038138091564178, -0.15953414142131805, -0.1548142284154892, -0.13488678634166718,
            -0.1079997718334198, -0.08049383759498596, -0.056292857974767685, -0.0371377058327198,
            -0.02320028282701969, -0.013762785121798515, -0.007769407704472542, -0.004180931951850653,
            -0.002147601917386055, -0.0010541811352595687, -0.0004949503927491605, -0.0002224508934887126,
            -9.576873708283529e-05, -3.951676262659021e-05, -1.5635978343198076e-05, -5.9353433243813924e-06,
        ],
        [
            -0.012143511325120926, -0.04917805641889572, -0.0905902311205864, -0.11826615035533905,
            -0.12929178774356842, -0.12416669726371765, -0.10630901157855988, -0.08083071559667587,
            -0.0531519390642643, -0.027798790484666824, -0.007691560313105583, 0.006007806863635778,
            0.013598811812698841, 0.01630520448088646, 0.015708832070231438, 0.013311728835105896,
            0.010278992354869843, 0.0073617491871118546, 0.00494044553488493, 0.0031269679311662912,
            0.0018748440779745579, 0.0010682085994631052, 0.000579707499127835, 0.00030019201221875846,
            0.00014853733591735363, 7.030832057353109e-05, 3.186478716088459e-05, 1.383817561873002e-05,
            5.7621891755843535e-06, 2.3018260435492266e-06, 8.825426220937516e-07, 3.249015492201579e-07,
        ],
    ]
    public static let geluLimit: Float = 6
    /// k: 6·k stays below 31.5, so every t up to the limit rounds to an interval index below 32.
    public static let geluIntervalsPerUnit: Float = 5.2466664
    /// 2^23: `fma(t, k, geluIndexBias)` is 2^23 + RNE(t·k), whose low 5 mantissa bits are the interval.
    public static let geluIndexBias: Float = 8_388_608

    /// `gelu(x)`; NaN stays NaN, `gelu(x) = x` from 6 on, and `gelu(x)` is -6e-9 (the true
    /// value at -6) from -6 down.
    @inline(__always)
    public static func gelu(_ x: Float) -> Float { gelu(x, scale: 1, coefficients: geluCoefficients) }

    /// `gelu(x) · r` in one rounding: `fma(max(x, 0), r, -h_r(t))`, where `-h_r` has the table's
    /// coefficients times r (each rounded to float32, as `ScaledGELU` stores them). With r = 1 it is
    /// `gelu(x)`.
    @inline(__always)
    static func gelu(_ x: Float, scale r: Float, coefficients c: [[Float]]) -> Float {
        let magnitude = abs(x)
        let t = magnitude > geluLimit ? geluLimit : magnitude  // NaN stays NaN
        let w = geluIndexBias.addingProduct(t, geluIntervalsPerUnit)
        let i = Int(w.bitPattern & 31)
        var p = c[3][i]
        p = c[2][i].addingProduct(p, t)
        p = c[1][i].addingProduct(p, t)
        p = c[0][i].addingProduct(p, t)
        let positive: Float = x > 0 ? x : 0
        return p.addingProduct(positive, r)
    }

    /// GELU followed by a multiplication by `scale`, evaluated as one function: what a requantizing
    /// epilogue whose last step is GELU computes before rounding (`scale` = 1 / y_scale).
    public struct ScaledGELU: Sendable {
        public let scale: Float
        /// `geluCoefficients` times `scale`.
        public let coefficients: [[Float]]

        public init(scale: Float) {
            self.scale = scale
            coefficients = geluCoefficients.map { $0.map { $0 * scale } }
        }

        @inline(__always)
        public func callAsFunction(_ x: Float) -> Float { gelu(x, scale: scale, coefficients: coefficients) }
    }
}
