/// A 2-D quantized convolution: ONNX ConvInteger (`output: .int32`) and QLinearConv
/// (`output: .requantized` with its int32 bias), or any other matmul output mode (dequantized,
/// epilogue chain). Weights are ONNX's [OC, C/groups, KH, KW]; the input and output are NCHW (as
/// ONNX defines them) or NHWC (the fast layout: the convolution is an implicit GEMM over it).
///
/// Each group g is the GEMM `Y_g[N·OH·OW, OC/g] = X_g[N·OH·OW, KH·KW·C/g] · W_g[KH·KW·C/g, OC/g]`
/// whose A row (n, oh, ow) is the receptive field in (kh, kw, c) order; padding contributes
/// `x_zp` (zero after the zero point is subtracted).
public struct Conv2D: Sendable, Hashable, Codable {
    public enum Layout: String, Sendable, Hashable, Codable, CaseIterable { case nchw, nhwc }

    public let batch: Int
    public let inChannels: Int
    public let height: Int
    public let width: Int
    public let outChannels: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    /// [height, width].
    public let strides: [Int]
    /// ONNX order: [top, left, bottom, right].
    public let pads: [Int]
    /// [height, width].
    public let dilations: [Int]
    public let groups: Int
    public let layout: Layout
    public let xType: ElementType
    public let wType: ElementType
    public let xQuant: QuantParams
    /// Per-tensor or per output channel.
    public let wQuant: QuantParams
    public let output: MatMulOutput

    public init(batch: Int = 1, inChannels: Int, height: Int, width: Int, outChannels: Int, kernel: (Int, Int),
                strides: [Int] = [1, 1], pads: [Int] = [0, 0, 0, 0], dilations: [Int] = [1, 1], groups: Int = 1,
                layout: Layout = .nhwc, xType: ElementType = .u8, wType: ElementType = .s8,
                xQuant: QuantParams = .perTensor(scale: 1), wQuant: QuantParams = .perTensor(scale: 1),
                output: MatMulOutput = .int32) throws(QuantError) {
        self.batch = batch
        self.inChannels = inChannels
        self.height = height
        self.width = width
        self.outChannels = outChannels
        kernelHeight = kernel.0
        kernelWidth = kernel.1
        self.strides = strides
        self.pads = pads
        self.dilations = dilations
        self.groups = groups
        self.layout = layout
        self.xType = xType
        self.wType = wType
        self.xQuant = xQuant
        self.wQuant = wQuant
        self.output = output
        try validate()
    }

    private func validate() throws(QuantError) {
        for (name, value) in [("N", batch), ("C", inChannels), ("H", height), ("W", width), ("M (output channels)", outChannels),
                              ("kernel height", kernelHeight), ("kernel width", kernelWidth)] {
            try MatMul.checkDimension(name, value)
        }
        // Every later product (window extents, output size) stays far from overflow.
        if (strides + dilations + pads).contains(where: { $0 > MatMul.maxDimension }) {
            throw .invalidShape(field: "strides/dilations/pads", reason: "a value above \(MatMul.maxDimension)")
        }
        if strides.count != 2 || strides.contains(where: { $0 < 1 }) {
            throw .invalidShape(field: "strides", reason: "\(strides) must be two positive integers")
        }
        if dilations.count != 2 || dilations.contains(where: { $0 < 1 }) {
            throw .invalidShape(field: "dilations", reason: "\(dilations) must be two positive integers")
        }
        if pads.count != 4 || pads.contains(where: { $0 < 0 }) {
            throw .invalidShape(field: "pads", reason: "\(pads) must be four non-negative integers [top, left, bottom, right]")
        }
        if pads[0] >= effectiveKernel.height || pads[2] >= effectiveKernel.height
            || pads[1] >= effectiveKernel.width || pads[3] >= effectiveKernel.width {
            throw .invalidShape(field: "pads", reason: "\(pads) must be smaller than the dilated kernel \(effectiveKernel.height)×\(effectiveKernel.width) (a window entirely in padding)")
        }
        if groups < 1 || inChannels % groups != 0 || outChannels % groups != 0 {
            throw .invalidShape(field: "group", reason: "group = \(groups) must divide C = \(inChannels) and M = \(outChannels)")
        }
        if outputHeight < 1 || outputWidth < 1 {
            throw .invalidShape(field: "X", reason: "a \(height)×\(width) input with pads \(pads) is smaller than the dilated kernel \(effectiveKernel.height)×\(effectiveKernel.width)")
        }
        let outputRows = CheckedArithmetic.product([batch, outputHeight, outputWidth])
        let inputElements = CheckedArithmetic.product([batch, inChannels, height, width])
        let weightElements = CheckedArithmetic.product([outChannels, inChannels / groups, kernelHeight, kernelWidth])
        if (outputRows ?? .max) > MatMul.maxDimension || (inputElements ?? .max) > 1 << 30 || (weightElements ?? .max) > 1 << 30 {
            throw .invalidShape(field: "X", reason: "the convolution is too large")
        }
        try wQuant.validate(field: "wQuant", type: wType, channels: outChannels)
        // Every group's GEMM must be a valid matmul (types, quantization, output mode).
        _ = try groupMatMul(0)
        if case let .chain(chain) = output, chain.residual != nil, layout != .nhwc {
            throw .invalidEpilogue(field: "output.chain", reason: "a residual add needs the NHWC layout")
        }
    }

    public var effectiveKernel: (height: Int, width: Int) {
        (dilations[0] * (kernelHeight - 1) + 1, dilations[1] * (kernelWidth - 1) + 1)
    }
    public var outputHeight: Int { (height + pads[0] + pads[2] - effectiveKernel.height) / strides[0] + 1 }
    public var outputWidth: Int { (width + pads[1] + pads[3] - effectiveKernel.width) / strides[1] + 1 }
    public var groupInChannels: Int { inChannels / groups }
    public var groupOutChannels: Int { outChannels / groups }
    /// Rows of every group's GEMM: N·OH·OW.
    public var gemmRows: Int { batch * outputHeight * outputWidth }
    /// K of every group's GEMM: KH·KW·C/groups.
    public var gemmDepth: Int { kernelHeight * kernelWidth * groupInChannels }
    /// Multiply-accumulates of the whole convolution.
    public var macs: Int { gemmRows * gemmDepth * outChannels }
    /// True for a depthwise convolution (one input and one output channel per group).
    public var isDepthwise: Bool { groups == inChannels && groups == outChannels && groups > 1 }
    /// True when the GEMM's A is the NHWC input itself (1×1, stride 1, no padding).
    public var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strides == [1, 1] && pads == [0, 0, 0, 0]
    }

    public var inputElements: Int { batch * inChannels * height * width }
    public var weightElements: Int { outChannels * groupInChannels * kernelHeight * kernelWidth }
    public var outputElements: Int { gemmRows * outChannels }

    /// Group g's GEMM as a matmul (M fixed to N·OH·OW).
    public func groupMatMul(_ g: Int) throws(QuantError) -> MatMul {
        let columns = (g * groupOutChannels)..<((g + 1) * groupOutChannels)
        let bQuant = wQuant.granularity == .perTensor ? wQuant
            : .perChannel(scales: Array(wQuant.scales[columns]), zeroPoints: Array(wQuant.zeroPoints[columns]))
        return try MatMul(m: gemmRows, k: gemmDepth, n: groupOutChannels, aType: xType, bType: wType, aQuant: xQuant,
                          bQuant: bQuant, output: output.slice(columns: columns, of: outChannels))
    }

    /// Group g's weights as the GEMM's B (K×OC/g, K in (kh, kw, c) order) from ONNX's
    /// [OC, C/g, KH, KW] bytes.
    public func gemmWeights(_ w: [UInt8], group g: Int) -> [UInt8] {
        let cg = groupInChannels, ocg = groupOutChannels
        var b = [UInt8](repeating: 0, count: gemmDepth * ocg)
        for o in 0..<ocg {
            let oc = g * ocg + o
            for c in 0..<cg {
                for kh in 0..<kernelHeight {
                    for kw in 0..<kernelWidth {
                        let source = ((oc * cg + c) * kernelHeight + kh) * kernelWidth + kw
                        b[((kh * kernelWidth + kw) * cg + c) * ocg + o] = w[source]
                    }
                }
            }
        }
        return b
    }
}

extension MatMulOutput {
    /// The output mode restricted to columns `columns` of `n` (per-channel constants sliced).
    public func slice(columns: Range<Int>, of n: Int) -> MatMulOutput {
        func cut<T>(_ values: [T]) -> [T] { values.count == n ? Array(values[columns]) : values }
        switch self {
        case .int32:
            return .int32
        case var .requantized(r):
            r.bias = r.bias.map(cut)
            return .requantized(r)
        case var .dequantized(d):
            d.bias = d.bias.map(cut)
            return .dequantized(d)
        case var .chain(chain):
            chain.steps = chain.steps.map { step in
                switch step {
                case let .bias(values): .bias(cut(values))
                case let .scale(values): .scale(cut(values))
                default: step
                }
            }
            return .chain(chain)
        }
    }
}

extension Conv2D {
    /// Decoding validates, as the initializer does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(batch: try c.decode(Int.self, forKey: .batch), inChannels: try c.decode(Int.self, forKey: .inChannels),
                      height: try c.decode(Int.self, forKey: .height), width: try c.decode(Int.self, forKey: .width),
                      outChannels: try c.decode(Int.self, forKey: .outChannels),
                      kernel: (try c.decode(Int.self, forKey: .kernelHeight), try c.decode(Int.self, forKey: .kernelWidth)),
                      strides: try c.decode([Int].self, forKey: .strides), pads: try c.decode([Int].self, forKey: .pads),
                      dilations: try c.decode([Int].self, forKey: .dilations), groups: try c.decode(Int.self, forKey: .groups),
                      layout: try c.decode(Layout.self, forKey: .layout), xType: try c.decode(ElementType.self, forKey: .xType),
                      wType: try c.decode(ElementType.self, forKey: .wType), xQuant: try c.decode(QuantParams.self, forKey: .xQuant),
                      wQuant: try c.decode(QuantParams.self, forKey: .wQuant), output: try c.decode(MatMulOutput.self, forKey: .output))
    }
}
