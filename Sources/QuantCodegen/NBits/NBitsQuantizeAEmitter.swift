import LLVMKit
import QuantOps
import QuantSchedule

/// Emits the int8 mode's A quantization (`ReferenceOperators.quantizeRowPerBlock`) over rows
/// [begin, end): x = f32 rows of K, y = the quantized rows in `NBitsLayout`'s row format (int8
/// blocks padded with zeros, then the blocks' scales, then their Σq). Per block: the largest |a|
/// (compare-and-select, so NaN is ignored and the order does not matter), scale = amax / 127,
/// q = RNE(clamp(a · (127 / amax), ±127)) with NaN → 0.
struct NBitsQuantizeAEmitter {
    let layout: NBitsLayout

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context, op = layout.op
        let k = op.inputs, size = op.blockSize, lanes = f.lanes
        let f32 = context.f32, i32 = context.i32
        let reduceAdd = try! module.intrinsic("llvm.vector.reduce.add", overloads: [context.vector(i32, lanes)])

        /// One block of `valid` (compile-time) values starting at element `first` of the row.
        func block(_ index: IRValue, valid: Int, source: IRValue, destination: IRValue) {
            let first = b.mul(index, f.const(size))
            // Chunks: whole vectors, then single values.
            let whole = valid / lanes * lanes
            let chunks = stride(from: 0, to: whole, by: lanes).map { ($0, lanes) } + (whole..<valid).map { ($0, 1) }
            func load(_ offset: Int, _ width: Int) -> IRValue {
                f.loadFloats(source, b.add(first, f.const(offset)), width: width)
            }
            func magnitude(_ v: IRValue, _ width: Int) -> IRValue {
                let ints = context.vector(i32, width)
                let mask = context.constVector(Array(repeating: context.constInt(i32, 0x7FFF_FFFF), count: width))
                return b.bitcast(b.and(b.bitcast(v, to: ints), mask), to: context.vector(f32, width))
            }
            // Largest magnitude: lane-wise over the whole vectors, then across lanes and the singles.
            let zeros = context.constVector(Array(repeating: context.constFloat(0), count: lanes))
            var lanesMax = zeros
            var amax = context.constFloat(0)
            for (offset, width) in chunks {
                let m = magnitude(load(offset, width), width)
                if width == lanes {
                    lanesMax = b.select(b.fcmp(.ogt, m, lanesMax), m, lanesMax)
                } else {
                    let e = b.extractElement(m, 0)
                    amax = b.select(b.fcmp(.ogt, e, amax), e, amax)
                }
            }
            if whole > 0 {
                // Across lanes by halves (compare-and-select: the lanes hold no NaN).
                let e = f.foldHalves(lanesMax, lanes: lanes) { low, high in b.select(b.fcmp(.ogt, high, low), high, low) }
                amax = b.select(b.fcmp(.ogt, e, amax), e, amax)
            }
            let scale = b.fdiv(amax, context.constFloat(127))
            let inverse = b.select(b.fcmp(.ogt, amax, context.constFloat(0)), b.fdiv(context.constFloat(127), amax), context.constFloat(0))
            var lanesSum = f.splatInt(0, lanes)
            var sum = context.constInt(i32, 0)
            for (offset, width) in chunks {
                let math = f.math(width)
                let scaled = b.fmul(load(offset, width), f.splat(inverse, width))
                let q = math.saturatingRound(scaled, zeroPoint: f.splatInt(0, width), lowerMinusZero: math.splat(-127),
                                             upperMinusZero: math.splat(127), portable: f.portable)
                f.storeInts(q, .s8, destination, b.add(first, f.const(offset)), width: width)
                if width == lanes { lanesSum = b.add(lanesSum, q) } else { sum = b.add(sum, b.extractElement(q, 0)) }
            }
            if whole > 0 { sum = b.add(sum, b.call(reduceAdd.function, type: reduceAdd.type, [lanesSum])) }
            for offset in valid..<size {
                b.store(context.constInt(context.i8, 0), to: b.byteOffset(destination, b.add(first, f.const(offset))), align: 1)
            }
            b.store(scale, to: b.byteOffset(destination, b.add(f.const(layout.quantizedRowScalesOffset), b.mul(index, f.const(4)))), align: 4)
            b.store(sum, to: b.byteOffset(destination, b.add(f.const(layout.quantizedRowSumsOffset), b.mul(index, f.const(4)))), align: 4)
        }

        f.loops.loop("m", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { m, _ in
            let source = b.byteOffset(f.x, b.mul(m, f.const(4 * k)))
            let destination = b.byteOffset(f.y, b.mul(m, f.const(layout.quantizedRowStride)))
            f.loops.loop("block", from: f.const(0), step: 1, while: { b.icmp(.slt, $0, f.const(k / size)) }) { j, _ in
                block(j, valid: size, source: source, destination: destination)
                return []
            }
            if k % size != 0 { block(f.const(k / size), valid: k % size, source: source, destination: destination) }
            return []
        }
        f.finish()
        return f.function
    }
}
