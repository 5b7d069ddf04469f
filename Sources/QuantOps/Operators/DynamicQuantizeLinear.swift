/// ONNX DynamicQuantizeLinear (u8): the scale and zero point come from the data,
/// `max = max(0, max x)`, `min = min(0, min x)`, `scale = (max - min) / 255` (1 when max = min, as
/// ONNX Runtime does), `zp = RNE(clamp(-min / scale, 0, 255))`, `y = sat(RNE(x / scale) + zp)`.
/// `perRow` computes one (scale, zero point) per row of a rows × columns matrix (per-token
/// quantization of activations) instead of one for the whole tensor.
public struct DynamicQuantizeLinear: Sendable, Hashable, Codable {
    public let rows: Int
    public let columns: Int
    public let perRow: Bool

    public init(rows: Int, columns: Int, perRow: Bool = false) throws(QuantError) {
        try MatMul.checkDimension("rows", rows)
        try MatMul.checkDimension("columns", columns)
        if rows * columns > 1 << 28 { throw .invalidShape(field: "x", reason: "\(rows)×\(columns) exceeds 2^28 elements") }
        self.rows = rows
        self.columns = columns
        self.perRow = perRow
    }

    /// The ONNX parameters for data with this minimum and maximum.
    @inline(__always)
    public static func parameters(minimum: Float, maximum: Float) -> (scale: Float, zeroPoint: Int32) {
        let low = minimum < 0 ? minimum : 0, high = maximum > 0 ? maximum : 0
        let scale = high == low ? 1 : (high - low) / 255
        let initial = 0 - low / scale
        let clamped = initial < 0 ? 0 : (initial > 255 ? 255 : initial)
        return (scale, Int32(clamped.rounded(.toNearestOrEven)))
    }
}

extension DynamicQuantizeLinear {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(rows: try c.decode(Int.self, forKey: .rows), columns: try c.decode(Int.self, forKey: .columns),
                      perRow: try c.decode(Bool.self, forKey: .perRow))
    }
}
