import LLVMKit

/// Emits the gather of an implicit-GEMM convolution's A rows: rows [from, to) of the GEMM become
/// rows of K bytes in the row block's buffer, row r = output pixel (image, oh, ow) holding, for
/// each (kh, kw), the group's channels of input pixel (oh·sh − pad_top + kh·dh,
/// ow·sw − pad_left + kw·dw), or the input's zero point outside the image.
///
/// The rows are visited as `ConvolutionPixelWalk` orders them (no per-row division). Where the
/// window lies wholly inside the image and its rows are contiguous
/// (`ConvolutionGeometry.windowRowsAreContiguous`), a pixel is KH straight-line copies of KW·C
/// bytes, one load and store each when short (`windowRowCopyBytes`: the RGB stems), a fixed-size
/// copy otherwise. Border pixels (and every pixel of a grouped or dilated convolution) go tap by tap.
struct ConvolutionGatherEmitter {
    let geometry: ConvolutionGeometry
    /// The GEMM's K: bytes of one gathered row.
    let rowBytes: Int
    let b: IRBuilder
    let loops: LoopBuilder
    /// The group's first channel of the input (NHWC).
    let input: IRValue
    /// The row block's buffer: row `from` at offset 0.
    let buffer: IRValue
    /// Interior pixels are left out (the microkernel reads their windows from the input:
    /// `ConvolutionGeometry.readsWindowsDirectly`).
    var bordersOnly = false

    private var context: Context { b.context }
    private func const(_ value: Int) -> IRValue { context.constInt(context.i64, Int64(value)) }

    func emit(from: IRValue, to: IRValue) {
        let g = geometry
        let columns = g.contiguousInteriorColumns
        let target = { (pixel: OutputPixel) in b.byteOffset(buffer, b.mul(b.sub(pixel.index, from), const(rowBytes))) }
        ConvolutionPixelWalk(geometry: g, interiorColumns: columns).emit(b, loops: loops, from: from, to: to,
            interior: { pixel in
                if bordersOnly { return }
                let rowStart = b.add(b.mul(pixel.image, const(g.height)), pixel.top)
                let window = b.byteOffset(input, b.mul(b.add(b.mul(rowStart, const(g.width)), pixel.left), const(g.pixelStride)))
                copyWindow(from: window, into: target(pixel))
            },
            border: { pixel in gatherTaps(image: pixel.image, top: pixel.top, left: pixel.left, into: target(pixel)) })
    }

    /// KH contiguous window rows of KW·C bytes from `source` (the window's top-left pixel).
    private func copyWindow(from source: IRValue, into target: IRValue) {
        let g = geometry, span = g.kernelWidth * g.groupChannels
        for kh in 0..<g.kernelHeight {
            let row = b.byteOffset(source, const(kh * g.dilations[0] * g.width * g.pixelStride))
            let destination = b.byteOffset(target, const(kh * span))
            if let wide = g.windowRowCopyBytes {
                b.store(b.load(context.vector(context.i8, wide), from: row, align: 1), to: destination, align: 1)
            } else {
                b.memcpy(to: destination, align: 1, from: row, align: 1, size: const(span))
            }
        }
    }

    /// One pixel's window tap by tap: each (kh, kw) copies C bytes or fills them with the zero point.
    private func gatherTaps(image: IRValue, top: IRValue, left: IRValue, into target: IRValue) {
        let g = geometry
        let channels = const(g.groupChannels)
        let padding = context.constInt(context.i8, Int64(g.paddingByte))
        loops.loop("gather.kh", from: const(0), step: 1, while: { b.icmp(.slt, $0, const(g.kernelHeight)) }) { kh, _ in
            let ih = b.add(top, b.mul(kh, const(g.dilations[0])))
            let rowInside = b.and(b.icmp(.sge, ih, const(0)), b.icmp(.slt, ih, const(g.height)))
            let inputRow = b.mul(b.add(b.mul(image, const(g.height)), ih), const(g.width))
            let rowTarget = b.byteOffset(target, b.mul(kh, const(g.kernelWidth * g.groupChannels)))
            loops.loop("gather.kw", from: const(0), step: 1, while: { b.icmp(.slt, $0, const(g.kernelWidth)) }) { kw, _ in
                let iw = b.add(left, b.mul(kw, const(g.dilations[1])))
                let inside = b.and(rowInside, b.and(b.icmp(.sge, iw, const(0)), b.icmp(.slt, iw, const(g.width))))
                let destination = b.byteOffset(rowTarget, b.mul(kw, channels))
                loops.branch("gather.tap", inside, then: {
                    b.memcpy(to: destination, align: 1, from: b.byteOffset(input, b.mul(b.add(inputRow, iw), const(g.pixelStride))),
                             align: 1, size: channels)
                }, otherwise: {
                    b.memset(destination, to: padding, size: channels, align: 1)
                })
                return []
            }
            return []
        }
    }
}
