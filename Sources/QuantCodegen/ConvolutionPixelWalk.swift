import LLVMKit

/// One output pixel of a convolution inside a walk: its index in [from, to) (n·OH·OW + oh·OW + ow),
/// its image, and the top-left input coordinates of its window (possibly outside the image).
struct OutputPixel {
    let index: IRValue
    let image: IRValue
    let top: IRValue
    let left: IRValue
}

/// Visits the output pixels [from, to) of a convolution one output row (image, oh) at a time, so
/// no pixel is divided out of its index, in increasing index order. In an output row whose windows
/// are inside the image vertically, the pixels of `interiorColumns` run one loop through
/// `interior` (no bounds checks, addresses stepping by a constant) and those left and right of it
/// through `border`; every pixel of the other output rows goes through `border`. (`border` is
/// emitted three times.) Used by the implicit GEMM's gather and by the depthwise kernel.
struct ConvolutionPixelWalk {
    let geometry: ConvolutionGeometry
    /// The output columns that may take the interior path (see
    /// `ConvolutionGeometry.interiorColumns`); nil: none does.
    let interiorColumns: ClosedRange<Int>?

    func emit(_ b: IRBuilder, loops: LoopBuilder, from: IRValue, to: IRValue,
              interior: (OutputPixel) -> Void, border: (OutputPixel) -> Void) {
        let g = geometry, context = b.context
        func const(_ value: Int) -> IRValue { context.constInt(context.i64, Int64(value)) }
        func largest(_ x: IRValue, _ y: IRValue) -> IRValue { b.select(b.icmp(.sgt, x, y), x, y) }
        func smallest(_ x: IRValue, _ y: IRValue) -> IRValue { b.select(b.icmp(.slt, x, y), x, y) }
        let firstOutputRow = b.sdiv(from, const(g.outputWidth))
        let endOutputRow = b.sdiv(b.add(to, const(g.outputWidth - 1)), const(g.outputWidth))
        loops.loop("walk.q", from: firstOutputRow, step: 1, while: { b.icmp(.slt, $0, endOutputRow) }) { q, _ in
            let image = b.sdiv(q, const(g.outputHeight))
            let oh = b.srem(q, const(g.outputHeight))
            let rowStart = b.mul(q, const(g.outputWidth))
            let first = smallest(largest(b.sub(from, rowStart), const(0)), const(g.outputWidth))
            let end = smallest(largest(b.sub(to, rowStart), const(0)), const(g.outputWidth))
            let top = b.sub(b.mul(oh, const(g.strides[0])), const(g.pads[0]))
            func pixels(_ name: String, _ lower: IRValue, _ upper: IRValue, _ body: (OutputPixel) -> Void) {
                loops.loop(name, from: lower, step: 1, while: { b.icmp(.slt, $0, upper) }) { ow, _ in
                    let left = b.sub(b.mul(ow, const(g.strides[1])), const(g.pads[1]))
                    body(OutputPixel(index: b.add(rowStart, ow), image: image, top: top, left: left))
                    return []
                }
            }
            guard let tops = g.interiorWindowTops, let columns = interiorColumns else {
                pixels("walk.border", first, end, border)
                return []
            }
            let rowsInside = b.and(b.icmp(.sge, top, const(tops.lowerBound)), b.icmp(.sle, top, const(tops.upperBound)))
            loops.branch("walk.row", rowsInside, then: {
                // [first, middleFirst) border, [middleFirst, middleEnd) interior, [middleEnd, end) border.
                let middleFirst = largest(first, const(columns.lowerBound))
                let middleEnd = largest(smallest(end, const(columns.upperBound + 1)), middleFirst)
                pixels("walk.left", first, smallest(end, middleFirst), border)
                pixels("walk.interior", middleFirst, middleEnd, interior)
                pixels("walk.right", middleEnd, end, border)
            }, otherwise: {
                pixels("walk.border", first, end, border)
            })
            return []
        }
    }
}
