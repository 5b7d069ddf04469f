/// Scale and zero point of a quantized tensor: `real = (q - zeroPoint) * scale`.
/// Per-tensor (one of each) or per-channel (one per output channel).
public struct QuantParams: Sendable, Hashable, Codable {
    public enum Granularity: String, Sendable, Hashable, Codable { case perTensor, perChannel }

    public let granularity: Granularity
    public let scales: [Float]
    public let zeroPoints: [Int32]

    /// One scale and zero point for the whole tensor.
    public static func perTensor(scale: Float, zeroPoint: Int32 = 0) -> QuantParams {
        QuantParams(granularity: .perTensor, scales: [scale], zeroPoints: [zeroPoint])
    }

    /// One scale and zero point per channel. A single zero point is shared by all channels.
    public static func perChannel(scales: [Float], zeroPoints: [Int32]) -> QuantParams {
        let points = zeroPoints.count == 1 && scales.count > 1 ? Array(repeating: zeroPoints[0], count: scales.count) : zeroPoints
        return QuantParams(granularity: .perChannel, scales: scales, zeroPoints: points)
    }

    /// Scale of `channel` (the only scale when per-tensor).
    @inline(__always) public func scale(_ channel: Int) -> Float { granularity == .perTensor ? scales[0] : scales[channel] }
    /// Zero point of `channel` (the only one when per-tensor).
    @inline(__always) public func zeroPoint(_ channel: Int) -> Int32 { granularity == .perTensor ? zeroPoints[0] : zeroPoints[channel] }

    /// Checks the parameters for a tensor of `type` with `channels` channels (the per-channel axis).
    public func validate(field: String, type: ElementType, channels: Int, perTensorOnly: Bool = false) throws(QuantError) {
        if perTensorOnly && granularity != .perTensor { throw .perTensorRequired(field: field) }
        let expected = granularity == .perTensor ? 1 : channels
        if scales.count != expected {
            throw .channelCountMismatch(field: "\(field).scales", expected: channels, actual: scales.count)
        }
        if zeroPoints.count != expected {
            throw .channelCountMismatch(field: "\(field).zeroPoints", expected: channels, actual: zeroPoints.count)
        }
        for (index, scale) in scales.enumerated() where !(scale.isNormal && scale > 0) {
            throw .invalidScale(field: "\(field).scales", index: index, value: scale)
        }
        if let range = type.integerRange {
            for (index, point) in zeroPoints.enumerated() where !range.contains(point) {
                throw .zeroPointOutOfRange(field: "\(field).zeroPoints", index: index, value: point, type: type)
            }
        }
    }
}
