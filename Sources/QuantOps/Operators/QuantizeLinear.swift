/// How the elements of a tensor map to scales and zero points (ONNX QuantizeLinear /
/// DequantizeLinear): one pair for the whole tensor, one per index along `axis` (per-axis), or one
/// per block of `blockSize` consecutive indices along `axis` (blocked; the parameter tensors then
/// have the data's shape with `shape[axis]` replaced by ⌈shape[axis] / blockSize⌉).
public struct AxisQuantization: Sendable, Hashable, Codable {
    public let shape: [Int]
    /// nil: per-tensor.
    public let axis: Int?
    /// 0: per-axis (one pair per index); > 0: blocked.
    public let blockSize: Int
    public let scales: [Float]
    public let zeroPoints: [Int32]
    /// The quantized type: u8, s8, u16 or s16.
    public let type: ElementType

    /// Checks everything: shape, axis (negative counts from the end), block size, parameter counts,
    /// scales and zero points.
    public init(shape: [Int], axis: Int? = nil, blockSize: Int = 0, scales: [Float], zeroPoints: [Int32]? = nil,
                type: ElementType) throws(QuantError) {
        if shape.contains(where: { $0 < 1 }) || (CheckedArithmetic.product(shape) ?? .max) > MatMul.maxDimension * 16 {
            throw .invalidShape(field: "x", reason: "shape \(shape) must have positive dimensions and at most 2^28 elements")
        }
        if !type.isQuantized { throw .unsupportedElementType(field: "y", type: type, allowed: [.u8, .s8, .u16, .s16]) }
        self.shape = shape
        self.type = type
        self.blockSize = blockSize
        let zeroPoints = zeroPoints ?? Array(repeating: 0, count: scales.count)
        self.scales = scales
        self.zeroPoints = zeroPoints
        if let axis {
            let rank = max(shape.count, 1)
            let resolved = axis < 0 ? axis + rank : axis
            if !(0..<shape.count).contains(resolved) {
                throw .invalidShape(field: "axis", reason: "axis \(axis) is outside a tensor of rank \(shape.count)")
            }
            self.axis = resolved
        } else {
            self.axis = nil
        }
        if blockSize < 0 { throw .invalidShape(field: "block_size", reason: "block_size \(blockSize) must be ≥ 0") }
        if blockSize > 0 && axis == nil { throw .invalidShape(field: "block_size", reason: "blocked quantization needs an axis") }
        let expected = parameterCount
        if scales.count != expected {
            throw .channelCountMismatch(field: "scale", expected: expected, actual: scales.count)
        }
        if zeroPoints.count != expected {
            throw .channelCountMismatch(field: "zero_point", expected: expected, actual: zeroPoints.count)
        }
        for (index, scale) in scales.enumerated() where !(scale.isNormal && scale > 0) {
            throw .invalidScale(field: "scale", index: index, value: scale)
        }
        let range = type.integerRange!
        for (index, point) in zeroPoints.enumerated() where !range.contains(point) {
            throw .zeroPointOutOfRange(field: "zero_point", index: index, value: point, type: type)
        }
    }

    /// Elements in the tensor.
    public var count: Int { shape.reduce(1, *) }

    /// The tensor seen as [outer, channels, inner] around the axis (per-tensor: [1, 1, count]).
    public var outerChannelsInner: (outer: Int, channels: Int, inner: Int) {
        guard let axis else { return (1, 1, count) }
        return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Blocks along the axis (channels when per-axis).
    public var blocks: Int {
        let channels = outerChannelsInner.channels
        return blockSize > 0 ? (channels + blockSize - 1) / blockSize : channels
    }

    var parameterCount: Int {
        guard axis != nil else { return 1 }
        let (outer, _, inner) = outerChannelsInner
        return blockSize > 0 ? outer * blocks * inner : blocks
    }

    /// Index of the (scale, zero point) pair of element (o, c, i) is
    /// `o·outerStride + (c / blockSize)·channelStride + i·innerStride`.
    public var parameterStrides: (outer: Int, channel: Int, inner: Int) {
        guard axis != nil else { return (0, 0, 0) }
        if blockSize == 0 { return (0, 1, 0) }
        let inner = outerChannelsInner.inner
        return (blocks * inner, inner, 1)
    }

    /// The pair's index for the element at flat index `index`.
    @inline(__always)
    public func parameterIndex(_ index: Int) -> Int {
        let (_, channels, inner) = outerChannelsInner
        let strides = parameterStrides
        let i = index % inner, c = (index / inner) % channels, o = index / (inner * channels)
        return o * strides.outer + (c / max(blockSize, 1)) * strides.channel + i * strides.inner
    }
}

/// ONNX QuantizeLinear: f32 → `sat(RNE(x / scale) + zero_point)`.
public struct QuantizeLinear: Sendable, Hashable, Codable {
    public let quantization: AxisQuantization
    public init(_ quantization: AxisQuantization) { self.quantization = quantization }
}

/// ONNX DequantizeLinear: `(x - zero_point) * scale` → f32.
public struct DequantizeLinear: Sendable, Hashable, Codable {
    public let quantization: AxisQuantization
    public init(_ quantization: AxisQuantization) { self.quantization = quantization }
}

extension AxisQuantization {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(shape: try c.decode([Int].self, forKey: .shape), axis: try c.decodeIfPresent(Int.self, forKey: .axis),
                      blockSize: try c.decode(Int.self, forKey: .blockSize), scales: try c.decode([Float].self, forKey: .scales),
                      zeroPoints: try c.decode([Int32].self, forKey: .zeroPoints), type: try c.decode(ElementType.self, forKey: .type))
    }
}
