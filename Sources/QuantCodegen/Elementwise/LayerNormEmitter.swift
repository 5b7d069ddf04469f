import LLVMKit
import QuantOps
import QuantSchedule

/// Emits `LayerNormalization` over rows [begin, end): x = input rows, x2 = the residual rows (when
/// the op has one), extra = γ, extra2 = β (f32, `columns` each), y = output rows (f32 rows may be
/// x; quantized rows are bytes). Works on 16-lane f32 vectors on every ISA (LLVM splits them into
/// the ISA's registers), so the partial sums are the reference's: groups of 16 (the last one
/// padded with zeros), folded by halves. An f32 output keeps `x (+ residual)` in y between the passes;
/// a quantized one recomputes it from x and the residual in each pass.
struct LayerNormEmitter {
    let op: LayerNormalization

    func emit(into module: Module, name: String, instruction: DotInstruction, targetFeatures: String) -> IRValue {
        let f = ElementwiseFunction(module: module, name: name, instruction: instruction, targetFeatures: targetFeatures)
        let b = f.b, context = f.context
        let n = op.columns, lanes = LayerNormalization.lanes, whole = n / lanes * lanes
        let f32 = context.f32
        let zeros = context.constVector(Array(repeating: context.constFloat(0), count: lanes))
        let sqrt = try! module.intrinsic("llvm.sqrt", overloads: [f32])

        /// Σ over the row of `value(index, width)`: vectors of 16 into 16 partials, the last
        /// partial vector padded with zeros, folded by halves.
        func sum(_ value: (IRValue, Int) -> IRValue) -> IRValue {
            var partials = f.loops.loop("sum", from: f.const(0), step: Int64(lanes), carried: [zeros],
                                        while: { b.icmp(.slt, $0, f.const(whole)) }) { c, acc in
                [b.fadd(acc[0], value(c, lanes))]
            }.carried[0]
            let tail = n - whole
            if tail > 0 {
                let part = value(f.const(whole), tail)
                let padded = tail == 1 ? b.insertElement(zeros, b.extractElement(part, 0), 0)
                    : b.shuffle(part, context.constVector(Array(repeating: context.constFloat(0), count: tail)),
                                (0..<lanes).map { $0 < tail ? $0 : tail })
                partials = b.fadd(partials, padded)
            }
            return f.foldHalves(partials, lanes: lanes) { b.fadd($0, $1) }
        }

        let quantized: (type: ElementType, scale: Float, zeroPoint: Int32)? = if case let .quantized(type, scale, zeroPoint) = op.output {
            (type, scale, zeroPoint)
        } else {
            nil
        }
        f.loops.loop("r", from: f.begin, step: 1, while: { b.icmp(.slt, $0, f.end) }) { r, _ in
            let rowStart = b.mul(r, f.const(n))
            /// v = x (+ residual) at `index`: from x and the residual, or (f32 output, after the
            /// first pass) from y.
            func v(_ index: IRValue, width: Int, first: Bool) -> IRValue {
                if quantized == nil && !first { return f.loadFloats(f.y, index, width: width) }
                let x = f.loadFloats(f.x, index, width: width)
                return op.hasResidual ? b.fadd(x, f.loadFloats(f.x2, index, width: width)) : x
            }
            let total = sum { c, width in
                let index = b.add(rowStart, c)
                let value = v(index, width: width, first: true)
                if quantized == nil { f.storeFloats(value, f.y, index) }
                return value
            }
            let mean = b.fdiv(total, context.constFloat(Float(n)))
            let squares = sum { c, width in
                let d = b.fsub(v(b.add(rowStart, c), width: width, first: false), f.splat(mean, width))
                return b.fmul(d, d)
            }
            let variance = b.fdiv(squares, context.constFloat(Float(n)))
            let root = b.call(sqrt.function, type: sqrt.type, [b.fadd(variance, context.constFloat(op.epsilon))])
            let rstd = b.fdiv(context.constFloat(1), root)
            f.vectorLoop("c", from: f.const(0), to: f.const(n), lanes: lanes) { c, width in
                let index = b.add(rowStart, c)
                let d = b.fsub(v(index, width: width, first: false), f.splat(mean, width))
                let scaled = b.fmul(b.fmul(d, f.splat(rstd, width)), f.loadFloats(f.extra, c, width: width))
                let y = b.fadd(scaled, f.loadFloats(f.extra2, c, width: width))
                if let quantized {
                    let q = f.quantize(y, scale: f.splat(context.constFloat(quantized.scale), width),
                                       zeroPoint: f.splatInt(quantized.zeroPoint, width), range: quantized.type.integerRange!, width: width)
                    f.storeInts(q, quantized.type, f.y, index, width: width)
                } else {
                    f.storeFloats(y, f.y, index)
                }
            }
            return []
        }
        f.finish()
        return f.function
    }
}
