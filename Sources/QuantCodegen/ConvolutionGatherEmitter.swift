import LLVMKit

/// Emits the gather of an implicit-GEMM convolution's A rows: rows [from, to) of the GEMM become
/// rows of K bytes in the row block's buffer, row r = output pixel (image, oh, ow) holding, for
/// each (kh, kw), the group's channels of input pixel (oh·sh − pad_top + kh·dh,
/// ow·sw − pad_left + kw·dw), or the input's zero point outside the image.
///
/// The rows are visited one output row (image, oh) at a time, so the pixel is never divided out
/// per row. Where the window lies wholly inside the image and its rows are contiguous
/// (`ConvolutionGeometry.windowRowsAreContiguous`), the columns [interiorFirst, interiorLast] of
/// an output row run a loop with no bounds checks: KH copies of KW·C bytes each, one load and
/// store when short (`windowRowCopyBytes`: the RGB stems), a fixed-size copy otherwise. The
/// border pixels (and every pixel of a grouped or dilated convolution) go tap by tap.
struct ConvolutionGatherEmitter {
    let geometry: ConvolutionGeometry
    /// The GEMM's K: bytes of one gathered row.
    let rowBytes: Int
    let b: IRBuilder
    let loops: LoopBuilder
    let function: IRValue
    /// The group's first channel of the input (NHWC).
    let input: IRValue
    /// The row block's buffer: row `from` at offset 0.
    let buffer: IRValue

    private var context: Context { b.context }
    private func const(_ value: Int) -> IRValue { context.constInt(context.i64, Int64(value)) }

    /// Output columns whose whole window is inside the image horizontally and, for the wide copy,
    /// whose last window row's read stays inside the input row. Empty when `first > last`.
    private var interiorColumns: (first: Int, last: Int) {
        let g = geometry
        let stride = g.strides[1], pad = g.pads[1]
        var lastLeft = g.width - 1 - (g.kernelWidth - 1) * g.dilations[1]
        if let wide = g.windowRowCopyBytes { lastLeft = Swift.min(lastLeft, (g.width * g.pixelStride - wide) / g.pixelStride) }
        let first = (pad + stride - 1) / stride
        let last = lastLeft + pad < 0 ? -1 : (lastLeft + pad) / stride
        return (first, Swift.min(last, g.outputWidth - 1))
    }

    func emit(from: IRValue, to: IRValue) {
        let g = geometry
        let firstOutputRow = b.sdiv(from, const(g.outputWidth))
        let endOutputRow = b.sdiv(b.add(to, const(g.outputWidth - 1)), const(g.outputWidth))
        let (interiorFirst, interiorLast) = interiorColumns
        let topRowsInside = g.height - 1 - (g.kernelHeight - 1) * g.dilations[0]
        loops.loop("gather.q", from: firstOutputRow, step: 1, while: { b.icmp(.slt, $0, endOutputRow) }) { q, _ in
            let image = b.sdiv(q, const(g.outputHeight))
            let oh = b.srem(q, const(g.outputHeight))
            let rowStart = b.mul(q, const(g.outputWidth))
            let first = clamp(b.sub(from, rowStart), 0, g.outputWidth)
            let end = clamp(b.sub(to, rowStart), 0, g.outputWidth)
            let top = b.sub(b.mul(oh, const(g.strides[0])), const(g.pads[0]))
            let target = { (ow: IRValue) in b.byteOffset(buffer, b.mul(b.sub(b.add(rowStart, ow), from), const(rowBytes))) }
            func taps(_ lower: IRValue, _ upper: IRValue) {
                loops.loop("gather.taps", from: lower, step: 1, while: { b.icmp(.slt, $0, upper) }) { ow, _ in
                    gatherTaps(image: image, top: top, ow: ow, into: target(ow))
                    return []
                }
            }
            guard g.windowRowsAreContiguous, interiorFirst <= interiorLast else {
                taps(first, end)
                return []
            }
            let inside = b.and(b.icmp(.sge, top, const(0)), b.icmp(.sle, top, const(topRowsInside)))
            let interior = b.appendBlock(function, "gather.interior"), border = b.appendBlock(function, "gather.border")
            let done = b.appendBlock(function, "gather.q.done")
            b.condBr(inside, interior, border)
            b.position(at: interior)
            let middleFirst = largest(first, const(interiorFirst))
            let middleEnd = largest(smallest(end, const(interiorLast + 1)), middleFirst)
            taps(first, smallest(end, const(interiorFirst)))
            let window = b.byteOffset(input, b.mul(b.mul(b.add(b.mul(image, const(g.height)), top), const(g.width)), const(g.pixelStride)))
            loops.loop("gather.window", from: middleFirst, step: 1, while: { b.icmp(.slt, $0, middleEnd) }) { ow, _ in
                let left = b.sub(b.mul(ow, const(g.strides[1])), const(g.pads[1]))
                copyWindow(from: b.byteOffset(window, b.mul(left, const(g.pixelStride))), into: target(ow))
                return []
            }
            taps(middleEnd, end)
            b.br(done)
            b.position(at: border)
            taps(first, end)
            b.br(done)
            b.position(at: done)
            return []
        }
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
    private func gatherTaps(image: IRValue, top: IRValue, ow: IRValue, into target: IRValue) {
        let g = geometry
        let channels = const(g.groupChannels)
        let padding = context.constInt(context.i8, Int64(g.paddingByte))
        let left = b.sub(b.mul(ow, const(g.strides[1])), const(g.pads[1]))
        loops.loop("gather.kh", from: const(0), step: 1, while: { b.icmp(.slt, $0, const(g.kernelHeight)) }) { kh, _ in
            let ih = b.add(top, b.mul(kh, const(g.dilations[0])))
            let rowInside = b.and(b.icmp(.sge, ih, const(0)), b.icmp(.slt, ih, const(g.height)))
            let inputRow = b.mul(b.add(b.mul(image, const(g.height)), ih), const(g.width))
            let rowTarget = b.byteOffset(target, b.mul(kh, const(g.kernelWidth * g.groupChannels)))
            loops.loop("gather.kw", from: const(0), step: 1, while: { b.icmp(.slt, $0, const(g.kernelWidth)) }) { kw, _ in
                let iw = b.add(left, b.mul(kw, const(g.dilations[1])))
                let inside = b.and(rowInside, b.and(b.icmp(.sge, iw, const(0)), b.icmp(.slt, iw, const(g.width))))
                let destination = b.byteOffset(rowTarget, b.mul(kw, channels))
                let copy = b.appendBlock(function, "gather.copy"), fill = b.appendBlock(function, "gather.fill")
                let done = b.appendBlock(function, "gather.done")
                b.condBr(inside, copy, fill)
                b.position(at: copy)
                b.memcpy(to: destination, align: 1, from: b.byteOffset(input, b.mul(b.add(inputRow, iw), const(g.pixelStride))),
                         align: 1, size: channels)
                b.br(done)
                b.position(at: fill)
                b.memset(destination, to: padding, size: channels, align: 1)
                b.br(done)
                b.position(at: done)
                return []
            }
            return []
        }
    }

    private func clamp(_ x: IRValue, _ low: Int, _ high: Int) -> IRValue { smallest(largest(x, const(low)), const(high)) }
    private func largest(_ x: IRValue, _ y: IRValue) -> IRValue { b.select(b.icmp(.sgt, x, y), x, y) }
    private func smallest(_ x: IRValue, _ y: IRValue) -> IRValue { b.select(b.icmp(.slt, x, y), x, y) }
}
