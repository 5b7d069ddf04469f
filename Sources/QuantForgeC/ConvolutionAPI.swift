import CQuantForgeAPI
import QuantForge

// qf_conv_*: convolutions through the C API (quantforge.h).

/// `qf_conv_desc` → `Conv2D`, refusing bad enums and null arrays by field name.
public enum ConvolutionDescription {
    public static func conv(_ d: qf_conv_desc) throws(QuantError) -> Conv2D {
        func dimension(_ value: Int64, _ field: String) throws(QuantError) -> Int {
            guard value >= 0, value <= Int64(MatMul.maxDimension) else {
                throw .invalidShape(field: "desc.\(field)", reason: "\(value) is out of range")
            }
            return Int(value)
        }
        let outChannels = try dimension(d.out_channels, "out_channels")
        guard outChannels > 0 else { throw .invalidShape(field: "desc.out_channels", reason: "must be positive") }
        let layout: Conv2D.Layout
        switch d.layout.rawValue {
        case 0: layout = .nhwc
        case 1: layout = .nchw
        default: throw CDescription.bad("layout", "\(d.layout.rawValue) is not a qf_layout")
        }
        let wQuant = try CDescription.weightQuant(channels: d.w_channels, outputs: d.out_channels, scales: d.w_scales,
                                                  zeroPoints: d.w_zero_points, "w")
        let output = try CDescription.output(.init(mode: d.output, type: d.output_type, yScale: d.y_scale, yZeroPoint: d.y_zero_point,
                                                   bias: d.bias, activation: d.activation, clampMin: d.clamp_min, clampMax: d.clamp_max,
                                                   steps: d.steps, stepCount: d.step_count), channels: outChannels)
        return try Conv2D(batch: try dimension(d.batch, "batch"), inChannels: try dimension(d.channels, "channels"),
                          height: try dimension(d.height, "height"), width: try dimension(d.width, "width"), outChannels: outChannels,
                          kernel: (try dimension(d.kernel_h, "kernel_h"), try dimension(d.kernel_w, "kernel_w")),
                          strides: [try dimension(d.stride_h, "stride_h"), try dimension(d.stride_w, "stride_w")],
                          pads: [try dimension(d.pad_top, "pad_top"), try dimension(d.pad_left, "pad_left"),
                                 try dimension(d.pad_bottom, "pad_bottom"), try dimension(d.pad_right, "pad_right")],
                          dilations: [try dimension(d.dilation_h, "dilation_h"), try dimension(d.dilation_w, "dilation_w")],
                          groups: try dimension(d.groups, "groups"), layout: layout,
                          xType: try CDescription.type(d.x_type, "x_type"), wType: try CDescription.type(d.w_type, "w_type"),
                          xQuant: .perTensor(scale: d.x_scale, zeroPoint: d.x_zero_point), wQuant: wQuant, output: output)
    }
}

@_cdecl("qf_conv_desc_init")
public func qfConvDescInit(_ desc: UnsafeMutablePointer<qf_conv_desc>?, _ batch: Int64, _ channels: Int64, _ height: Int64,
                           _ width: Int64, _ outChannels: Int64, _ kernelH: Int64, _ kernelW: Int64) {
    guard let desc else { return }
    desc.pointee = qf_conv_desc(
        batch: batch, channels: channels, height: height, width: width, out_channels: outChannels, kernel_h: kernelH, kernel_w: kernelW,
        stride_h: 1, stride_w: 1, dilation_h: 1, dilation_w: 1, pad_top: 0, pad_left: 0, pad_bottom: 0, pad_right: 0, groups: 1,
        layout: QF_LAYOUT_NHWC, x_type: QF_TYPE_U8, w_type: QF_TYPE_S8, x_scale: 1, x_zero_point: 0, w_channels: 1, w_scales: nil,
        w_zero_points: nil, output: QF_OUTPUT_INT32, output_type: QF_TYPE_U8, y_scale: 1, y_zero_point: 0, bias: nil,
        activation: QF_ACTIVATION_NONE, clamp_min: 0, clamp_max: 0, steps: nil, step_count: 0)
}

@_cdecl("qf_conv_compile")
public func qfConvCompile(_ context: OpaquePointer?, _ desc: UnsafePointer<qf_conv_desc>?,
                          _ kernel: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    compileKernel(context, kernel) { engine throws(QuantError) in
        guard let desc else { throw .invalidArgument(field: "desc", reason: "null pointer") }
        return .convolution(try engine.compile(try ConvolutionDescription.conv(desc.pointee)))
    }
}

private func convolution(_ kernel: OpaquePointer?, _ function: String) throws(QuantError) -> ConvKernel {
    try KernelHandle.get(kernel, function) { if case let .convolution(conv) = $0 { conv } else { nil } }
}

@_cdecl("qf_conv_output_size")
public func qfConvOutputSize(_ kernel: OpaquePointer?, _ height: UnsafeMutablePointer<Int64>?,
                             _ width: UnsafeMutablePointer<Int64>?) -> qf_status {
    guarded { () throws(QuantError) in
        guard let height, let width else { throw .invalidArgument(field: height == nil ? "height" : "width", reason: "null output pointer") }
        let op = try convolution(kernel, "qf_conv_output_size").op
        height.pointee = Int64(op.outputHeight)
        width.pointee = Int64(op.outputWidth)
    }
}

@_cdecl("qf_conv_pack")
public func qfConvPack(_ kernel: OpaquePointer?, _ w: UnsafeRawPointer?, _ wBytes: Int,
                       _ weights: UnsafeMutablePointer<OpaquePointer?>?) -> qf_status {
    guard let weights else { return failure(QF_STATUS_INVALID_ARGUMENT, "weights: null output pointer") }
    weights.pointee = nil
    return guarded { () throws(QuantError) in
        let w = try buffer(w, wBytes, "w")
        let conv = try convolution(kernel, "qf_conv_pack")
        let packed = try conv.packWeights(Array(w))
        weights.pointee = HandleRegistry.register(WeightsHandle(.convolution(packed)), as: .weights)
    }
}

@_cdecl("qf_conv_run")
public func qfConvRun(_ kernel: OpaquePointer?, _ x: UnsafeRawPointer?, _ xBytes: Int, _ weights: OpaquePointer?,
                      _ residual: UnsafeRawPointer?, _ residualBytes: Int, _ y: UnsafeMutableRawPointer?, _ yBytes: Int) -> qf_status {
    guarded { () throws(QuantError) in
        let x = try buffer(x, xBytes, "x"), y = try mutableBuffer(y, yBytes, "y")
        let r = try residual.map { p throws(QuantError) in try buffer(p, residualBytes, "residual") }
        let conv = try convolution(kernel, "qf_conv_run")
        guard case let .convolution(packed) = try HandleRegistry.lookup(weights, .weights, as: WeightsHandle.self).packed else {
            throw .weightsMismatch(reason: "matmul weights were passed to qf_conv_run")
        }
        try conv.run(x: x, weights: packed, y: y, residual: r)
    }
}
