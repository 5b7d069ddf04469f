/// Quantization-aware training's fake quantization, forward: `y = DequantizeLinear(QuantizeLinear(x))`
/// in f32 (per tensor, per axis or blocked, as `AxisQuantization` describes), and the
/// straight-through estimator's gradient mask: 1 where `RNE(x / scale) + zero_point` lies inside the
/// type's range (the gradient passes), 0 where the value saturated or is NaN (it is blocked).
///
/// Learnable-scale variants (LSQ, LSQ+) have the same forward with the scale (LSQ+: and the zero
/// point) as trained parameters: run this operator with their current values each step. Their
/// backward — `∂y/∂x = mask`, and the scale's gradient `(q − zp) − x / s` inside the range,
/// `qmin − zp` or `qmax − zp` outside it, scaled by `1 / √(N·qmax)` in LSQ — belongs to the training
/// loop; this operator provides `mask` and, through `QuantizeLinear`, `q`.
public struct FakeQuantize: Sendable, Hashable, Codable {
    public let quantization: AxisQuantization
    public init(_ quantization: AxisQuantization) { self.quantization = quantization }

    /// One element: (y, mask).
    @inline(__always)
    public func apply(_ x: Float, parameter p: Int) -> (Float, UInt8) {
        let scale = quantization.scales[p], zeroPoint = quantization.zeroPoints[p], range = quantization.type.integerRange!
        let q = QuantArithmetic.quantize(x, scale: scale, zeroPoint: zeroPoint, range: range)
        let rounded = (x / scale).rounded(.toNearestOrEven)
        let inside = rounded >= Float(range.lowerBound - zeroPoint) && rounded <= Float(range.upperBound - zeroPoint)
        return (Float(q - zeroPoint) * scale, inside ? 1 : 0)
    }
}
