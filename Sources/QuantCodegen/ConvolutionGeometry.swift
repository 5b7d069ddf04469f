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

    /// True when a window row's taps are one contiguous run of input bytes (one group, no
    /// horizontal dilation): KW·C bytes from the window's left pixel.
    public var windowRowsAreContiguous: Bool { groupChannels == pixelStride && dilations[1] == 1 }

    /// The width of the single load and store that copy a short contiguous window row (KW·C ≤ 32
    /// bytes: small-channel convolutions such as RGB stems): the next of 4, 8, 16, 32 bytes. The
    /// copy reads and writes past the row's KW·C bytes; the gather uses it only where the read
    /// stays inside the input row, and the next row (or the buffer's slack) takes the extra bytes.
    /// Nil when window rows are not contiguous or are longer (copied exactly).
    public var windowRowCopyBytes: Int? {
        let span = kernelWidth * groupChannels
        guard windowRowsAreContiguous else { return nil }
        return [4, 8, 16, 32].first { $0 >= span }
    }

    /// The input rows a window may start at (its top, pads included) with every one of its KH
    /// rows inside the image; nil when none.
    public var interiorWindowTops: ClosedRange<Int>? {
        let last = height - 1 - (kernelHeight - 1) * dilations[0]
        return last >= 0 ? 0...last : nil
    }

    /// The output columns whose window lies wholly inside the image horizontally and, when each
    /// window row is read as `readBytes` bytes from its left pixel, whose read stays inside the
    /// input row; nil when none.
    public func interiorColumns(readBytes: Int? = nil) -> ClosedRange<Int>? {
        var lastLeft = width - 1 - (kernelWidth - 1) * dilations[1]
        if let readBytes { lastLeft = min(lastLeft, (width * pixelStride - readBytes) / pixelStride) }
        let first = (pads[1] + strides[1] - 1) / strides[1]
        guard lastLeft + pads[1] >= 0 else { return nil }
        let last = min((lastLeft + pads[1]) / strides[1], outputWidth - 1)
        return first <= last ? first...last : nil
    }

    /// The output columns whose windows the gather copies window row by window row (and a
    /// microkernel that reads windows in place reads from the input): `interiorColumns` with the
    /// wide copy's read; nil when window rows are not contiguous.
    public var contiguousInteriorColumns: ClosedRange<Int>? {
        windowRowsAreContiguous ? interiorColumns(readBytes: windowRowCopyBytes) : nil
    }

    /// Whether the microkernel reads interior windows straight from the input (no gathered copy):
    /// window rows contiguous, each a whole number of the instruction's K groups (`kGroup`) and at
    /// least 64 bytes (e.g. 3×3 convolutions with C ≥ 22 channels and C·3 a multiple of 4). Its K
    /// loop then runs window row by window row, row i of a tile at its window's corner plus
    /// kh·dh·W·C when its window is inside the image, or at its gathered copy plus kh·KW·C.
    public func readsWindowsDirectly(kGroup: Int) -> Bool {
        let span = kernelWidth * groupChannels
        return windowRowsAreContiguous && span % kGroup == 0 && span >= 64 && interiorWindowTops != nil
            && contiguousInteriorColumns != nil
    }

    /// Bytes the gather may write past a row's `rowBytes` (the last window row's wide copy): the
    /// gathered-A buffer's slack.
    public var gatherOverrunBytes: Int { windowRowCopyBytes.map { $0 - kernelWidth * groupChannels } ?? 0 }

    public var description: String {
        "implicit GEMM: \(height)x\(width) input, \(groupChannels)/\(pixelStride) channels, kernel \(kernelHeight)x\(kernelWidth), strides \(strides), pads \(pads), dilations \(dilations) -> \(outputHeight)x\(outputWidth)"
    }
}
