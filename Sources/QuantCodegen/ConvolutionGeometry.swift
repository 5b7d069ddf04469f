import QuantOps

/// What an implicit-GEMM convolution kernel needs to gather the A rows of one group from an NHWC
/// input: GEMM row r = (n, oh, ow) reads, for each (kh, kw), the group's `groupChannels` bytes of
/// pixel (n, oh·sh − pad_top + kh·dh, ow·sw − pad_left + kw·dw), or `x_zp` outside the image.
/// The kernel's A pointer is the input plus the group's first channel.
public struct ConvolutionGeometry: Sendable, Hashable, CustomStringConvertible {
    public let height: Int
    public let width: Int
    /// Channels of an input pixel (its byte stride).
    public let pixelStride: Int
    public let groupChannels: Int
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let strides: [Int]
    public let pads: [Int]
    public let dilations: [Int]
    public let outputHeight: Int
    public let outputWidth: Int
    /// The input's zero point as a byte (u8 value or s8 bit pattern).
    public let paddingByte: UInt8

    public init(_ conv: Conv2D) {
        height = conv.height
        width = conv.width
        pixelStride = conv.inChannels
        groupChannels = conv.groupInChannels
        kernelHeight = conv.kernelHeight
        kernelWidth = conv.kernelWidth
        strides = conv.strides
        pads = conv.pads
        dilations = conv.dilations
        outputHeight = conv.outputHeight
        outputWidth = conv.outputWidth
        paddingByte = UInt8(truncatingIfNeeded: conv.xQuant.zeroPoints[0])
    }

    /// Bytes of one gathered row: the GEMM's K.
    public var rowBytes: Int { kernelHeight * kernelWidth * groupChannels }

    public var description: String {
        "implicit GEMM: \(height)x\(width) input, \(groupChannels)/\(pixelStride) channels, kernel \(kernelHeight)x\(kernelWidth), strides \(strides), pads \(pads), dilations \(dilations) -> \(outputHeight)x\(outputWidth)"
    }
}
