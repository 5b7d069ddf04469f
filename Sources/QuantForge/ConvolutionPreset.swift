/// Convolution layers of well-known networks (batch 1, 224×224 input, NHWC, QLinearConv with
/// per-channel weight scales and a u8 output), shared by `qforge bench` and `qforge autotune`.
public enum ConvolutionPreset: String, Sendable, CaseIterable {
    /// ResNet-50 v1.5: the stem, and each stage's distinct 1×1 and 3×3 convolutions.
    case resnet50
    /// MobileNet-v2: the stem, depthwise 3×3 convolutions (stride 1 and 2) and pointwise 1×1s.
    case mobilenetv2

    /// (name, C, H=W, OC, kernel, stride, pad, groups) of each layer.
    typealias Layer = (name: String, c: Int, size: Int, oc: Int, kernel: Int, stride: Int, pad: Int, groups: Int)

    var table: [Layer] {
        switch self {
        case .resnet50:
            return [
                ("conv1 7x7/2", 3, 224, 64, 7, 2, 3, 1),
                ("res2 1x1 64->64", 64, 56, 64, 1, 1, 0, 1),
                ("res2 3x3 64", 64, 56, 64, 3, 1, 1, 1),
                ("res2 1x1 64->256", 64, 56, 256, 1, 1, 0, 1),
                ("res2 1x1 256->64", 256, 56, 64, 1, 1, 0, 1),
                ("res3 1x1 256->128", 256, 56, 128, 1, 1, 0, 1),
                ("res3 3x3/2 128", 128, 56, 128, 3, 2, 1, 1),
                ("res3 3x3 128", 128, 28, 128, 3, 1, 1, 1),
                ("res3 1x1 128->512", 128, 28, 512, 1, 1, 0, 1),
                ("res3 1x1 512->128", 512, 28, 128, 1, 1, 0, 1),
                ("res4 3x3 256", 256, 14, 256, 3, 1, 1, 1),
                ("res4 1x1 256->1024", 256, 14, 1024, 1, 1, 0, 1),
                ("res4 1x1 1024->256", 1024, 14, 256, 1, 1, 0, 1),
                ("res5 3x3 512", 512, 7, 512, 3, 1, 1, 1),
                ("res5 1x1 512->2048", 512, 7, 2048, 1, 1, 0, 1),
                ("res5 1x1 2048->512", 2048, 7, 512, 1, 1, 0, 1),
            ]
        case .mobilenetv2:
            return [
                ("stem 3x3/2", 3, 224, 32, 3, 2, 1, 1),
                ("dw 3x3 32", 32, 112, 32, 3, 1, 1, 32),
                ("pw 32->16", 32, 112, 16, 1, 1, 0, 1),
                ("pw 16->96", 16, 112, 96, 1, 1, 0, 1),
                ("dw 3x3/2 96", 96, 112, 96, 3, 2, 1, 96),
                ("pw 96->24", 96, 56, 24, 1, 1, 0, 1),
                ("dw 3x3 144", 144, 56, 144, 3, 1, 1, 144),
                ("dw 3x3/2 144", 144, 56, 144, 3, 2, 1, 144),
                ("pw 144->32", 144, 28, 32, 1, 1, 0, 1),
                ("dw 3x3 192", 192, 28, 192, 3, 1, 1, 192),
                ("pw 192->64", 192, 14, 64, 1, 1, 0, 1),
                ("dw 3x3 384", 384, 14, 384, 3, 1, 1, 384),
                ("pw 384->96", 384, 14, 96, 1, 1, 0, 1),
                ("dw 3x3/2 576", 576, 14, 576, 3, 2, 1, 576),
                ("dw 3x3 960", 960, 7, 960, 3, 1, 1, 960),
                ("pw 960->320", 960, 7, 320, 1, 1, 0, 1),
                ("pw 320->1280", 320, 7, 1280, 1, 1, 0, 1),
            ]
        }
    }

    /// The layers as QLinearConv operators (u8 input with zero point 128, s8 weights with
    /// per-channel scales, int32 bias, u8 output with zero point 128, NHWC).
    public func layers() throws(QuantError) -> [(name: String, conv: Conv2D)] {
        var result: [(String, Conv2D)] = []
        for layer in table {
            let scales = (0..<layer.oc).map { 0.001 + Float($0 % 7) * 0.0001 }
            let bias = (0..<layer.oc).map { Int32($0 % 13) * 100 - 600 }
            let conv = try Conv2D(inChannels: layer.c, height: layer.size, width: layer.size, outChannels: layer.oc,
                                  kernel: (layer.kernel, layer.kernel), strides: [layer.stride, layer.stride],
                                  pads: Array(repeating: layer.pad, count: 4), groups: layer.groups, layout: .nhwc,
                                  xType: .u8, wType: .s8, xQuant: .perTensor(scale: 0.02, zeroPoint: 128),
                                  wQuant: .perChannel(scales: scales, zeroPoints: [0]),
                                  output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.5, zeroPoint: 128), bias: bias)))
            result.append((layer.name, conv))
        }
        return result
    }
}
