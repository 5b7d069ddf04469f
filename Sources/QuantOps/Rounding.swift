/// ONNX's quantization arithmetic in float32 (as ONNX Runtime implements it): round half to even,
/// then saturate to the integer type.
public enum QuantArithmetic {
    /// `sat(RNE(x) + zeroPoint)` for a value `x` already divided by the scale.
    @inline(__always)
    public static func saturatingRound(_ x: Float, zeroPoint: Int32, range: ClosedRange<Int32>) -> Int32 {
        // Clamp in float first (as MLAS does) so that huge values never overflow the conversion.
        let lower = Float(range.lowerBound - zeroPoint)
        let upper = Float(range.upperBound - zeroPoint)
        let clamped = x < lower ? lower : (x > upper ? upper : x)
        return Int32(clamped.rounded(.toNearestOrEven)) + zeroPoint
    }

    /// QuantizeLinear of one value: `sat(RNE(x / scale) + zeroPoint)`.
    @inline(__always)
    public static func quantize(_ x: Float, scale: Float, zeroPoint: Int32, range: ClosedRange<Int32>) -> Int32 {
        let scaled = x / scale
        if scaled.isNaN { return zeroPoint }
        return saturatingRound(scaled, zeroPoint: zeroPoint, range: range)
    }
}
