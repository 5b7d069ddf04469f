import LLVMKit
import QuantOps
import QuantSchedule

/// A per-column constant of an epilogue: one value for every column (a splat), or a private global
/// array padded to the kernel's column count.
enum ColumnConstant {
    case uniform(IRValue)                 // the scalar
    case perColumn(IRValue, IRType)  // global array, element type

    static func make(_ name: String, _ values: [IRValue], _ type: IRType, uniform: Bool, paddedTo columns: Int,
                     module: Module) -> ColumnConstant {
        if uniform { return .uniform(values[0]) }
        let padded = values + Array(repeating: module.context.null(type), count: max(0, columns - values.count))
        return .perColumn(module.addConstant(name, module.context.constArray(type, padded)), type)
    }

    /// `width` lanes for the columns starting at `column`.
    func load(_ b: IRBuilder, column: IRValue, width: Int) -> IRValue {
        let context = b.context
        switch self {
        case let .uniform(scalar):
            return context.constVector(Array(repeating: scalar, count: width))
        case let .perColumn(global, type):
            // Globals are 64-byte aligned and `column` is a multiple of `width`: the offset is a
            // multiple of the largest power of two dividing 4·width.
            let bytes = 4 * width
            return b.load(context.vector(type, width), from: b.byteOffset(global, b.mul(column, context.constInt(context.i64, 4))),
                          align: min(64, bytes & -bytes))
        }
    }
}

/// The output mode of a matmul-shaped kernel (matmul, convolution, depthwise convolution) on
/// int32 accumulator vectors: int32 as is, requantize, dequantize, or an epilogue chain — the same
/// operations, in the same order, as `ReferenceMatMul.epilogue`. Its per-column constants live in
/// the kernel's module.
struct OutputEpilogue {
    let op: MatMul
    let module: Module
    let b: IRBuilder
    let isa: ISA
    var portable: Bool { isa == .portable }
    private var multipliers: ColumnConstant? = nil
    private var dequantBias: ColumnConstant? = nil
    /// The chain's per-column constants, one entry per step (nil for steps without one).
    private var chainConstants: [ColumnConstant?] = []
    /// Whether a chain's value can be NaN before it is requantized (see `EpilogueChain.staysFinite`;
    /// a run-time A scale has no bound known when the kernel is compiled).
    private var chainCanBeNaN = true
    /// Set when every value to be requantized, already divided by the output scale, is a number
    /// below 2^30 in magnitude: then it is rounded and clamped as an integer, and only against the
    /// bounds it can reach.
    private var integerRounding: IntegerRounding? = nil

    /// Which clamps of an integer-rounded requantizing store the values can reach.
    struct IntegerRounding {
        var clampsLower: Bool
        var clampsUpper: Bool

        /// `scaled`: the exact range of the values to round; `roundingError`: how far float32
        /// evaluation may take a value past it; `bounds`: the quantized range to clamp to.
        init?(scaled: ClosedRange<Double>, roundingError: Double, zeroPoint: Int32, bounds: ClosedRange<Int32>) {
            let room: Double = 1_073_741_824  // 2^30: 2^31 less room for float32 rounding and the zero point
            guard scaled.lowerBound > -room, scaled.upperBound < room else { return nil }
            let margin = 1 + roundingError
            clampsLower = (scaled.lowerBound - margin).rounded(.down) + Double(zeroPoint) < Double(bounds.lowerBound)
            clampsUpper = (scaled.upperBound + margin).rounded(.up) + Double(zeroPoint) > Double(bounds.upperBound)
        }
    }

    /// `columns`: the padded column count the kernel may load constants for.
    init(op: MatMul, module: Module, builder: IRBuilder, columns: Int, isa: ISA) {
        self.op = op
        self.module = module
        b = builder
        self.isa = isa
        let context = module.context
        func constant(_ name: String, _ values: [Float], uniform: Bool) -> ColumnConstant {
            ColumnConstant.make(name, values.map(context.constFloat), context.f32, uniform: uniform, paddedTo: columns, module: module)
        }
        let multiplierValues = op.output == .int32 ? [] : (0..<op.n).map { op.outputMultiplier(column: $0) }
        if !multiplierValues.isEmpty {
            multipliers = constant("multipliers", multiplierValues, uniform: Set(multiplierValues.map(\.bitPattern)).count == 1)
        }
        // The largest |float(acc) · multiplier| (a run-time A scale is not known yet). An accumulator
        // sums K products of zero-point-adjusted 8-bit values, each at most 255 · 255 in magnitude.
        let largestAccumulator = min(2_147_483_648, Double(op.k) * 65_025)
        let startBound = op.aQuantMode.isRunTime ? Double.infinity
            : largestAccumulator * (multiplierValues.map { Double(abs($0)) }.max() ?? 0)
        if case let .requantized(r) = op.output {
            integerRounding = IntegerRounding(scaled: -startBound...startBound, roundingError: startBound * 1e-6,
                                              zeroPoint: r.output.zeroPoints[0], bounds: op.requantizedBounds!)
        }
        if case let .dequantized(d) = op.output, let bias = d.bias {
            dequantBias = constant("bias", bias, uniform: false)
        }
        if case let .chain(chain) = op.output {
            chainCanBeNaN = !chain.staysFinite(startBound: startBound)
            if case let .requantize(type, quant) = chain.output, !chainCanBeNaN {
                let (values, largest) = chain.bounds(startBound: startBound)
                let reciprocal = Double(EpilogueChain.reciprocal(quant.scales[0]))
                // A few float32 roundings of values up to `largest`, each within 2^-24 of it.
                integerRounding = IntegerRounding(scaled: (values.lowerBound * reciprocal)...(values.upperBound * reciprocal),
                                                  roundingError: 1e-5 * largest * reciprocal, zeroPoint: quant.zeroPoints[0],
                                                  bounds: type.integerRange!)
            }
            chainConstants = chain.steps.enumerated().map { index, step in
                switch step {
                case let .bias(values), let .scale(values): constant("chain.\(index)", values, uniform: values.count == 1)
                case .activation, .residualAdd: nil
                }
            }
        }
    }

    /// int32 accumulators (`width` lanes: `rows` rows side by side, each of the `width / rows`
    /// columns from `column`) → the output vector (i32, i8 or f32 lanes). `aScale` is A's run-time
    /// scale (a splat per row) when the op has one; `residual` points at each row's residual bytes
    /// of these columns.
    func convert(_ acc: IRValue, column: IRValue, width: Int, rows: Int = 1, aScale: IRValue? = nil,
                 residual: [IRValue] = []) -> IRValue {
        let context = module.context, math = VectorMath(module: module, b: b, lanes: width, isa: isa)
        let floats = context.vector(context.f32, width), ints = context.vector(context.i32, width)
        func splat(_ x: Int32) -> IRValue { context.constVector(Array(repeating: context.constInt(context.i32, Int64(x)), count: width)) }
        func load(_ constant: ColumnConstant) -> IRValue {
            let row = constant.load(b, column: column, width: width / rows)
            return rows == 1 ? row : b.concat(Array(repeating: row, count: rows))
        }
        /// `a_scale * b_scale[n]` (`/ y_scale` folded in for .requantized), as the reference computes it.
        func multiplier() -> IRValue {
            let constant = load(multipliers!)
            return aScale.map { b.fmul($0, constant) } ?? constant
        }
        switch op.output {
        case .int32:
            return acc
        case let .requantized(r):
            let bounds = op.requantizedBounds!, zeroPoint = r.output.zeroPoints[0]
            if let integerRounding {
                let quantized = math.roundAndClamp(b.fmul(b.sitofp(acc, to: floats), multiplier()), zeroPoint: zeroPoint, range: bounds,
                                                   clampsLower: integerRounding.clampsLower, clampsUpper: integerRounding.clampsUpper,
                                                   portable: portable)
                return b.trunc(quantized, to: context.vector(context.i8, width))
            }
            let value = math.clamp(b.fmul(b.sitofp(acc, to: floats), multiplier()),
                                   Float(bounds.lowerBound - zeroPoint), Float(bounds.upperBound - zeroPoint))
            let quantized = b.add(math.roundToInt32(value, portable: portable), splat(zeroPoint))
            return b.trunc(quantized, to: context.vector(context.i8, width))
        case let .dequantized(d):
            var value = b.fmul(b.sitofp(acc, to: floats), multiplier())
            value = b.fadd(value, dequantBias.map(load) ?? math.splat(0))
            let (lower, upper) = d.activation.realBounds
            return math.clamp(value, lower, upper)
        case let .chain(chain):
            // A leading bias joins the product in one fused multiply-add, as `EpilogueChain.apply` does.
            let fusedBias = if case .bias = chain.steps.first { true } else { false }
            var value = fusedBias ? math.fma(b.sitofp(acc, to: floats), multiplier(), load(chainConstants[0]!))
                                  : b.fmul(b.sitofp(acc, to: floats), multiplier())
            // A requantizing chain ending in GELU folds 1 / y_scale into GELU's table, as the
            // reference does (`EpilogueChain.foldsReciprocalIntoGELU`).
            let foldsReciprocal = chain.foldsReciprocalIntoGELU, last = chain.steps.count - 1
            for (index, step) in chain.steps.enumerated() where !(fusedBias && index == 0) && !(foldsReciprocal && index == last) {
                switch step {
                case .bias: value = b.fadd(value, load(chainConstants[index]!))
                case .scale: value = b.fmul(value, load(chainConstants[index]!))
                case let .activation(activation): value = math.apply(activation, value)
                case let .residualAdd(type, quant):
                    let bytes = b.concat(residual.map { b.load(context.vector(context.i8, width / rows), from: $0, align: 1) })
                    let wide = type == .s8 ? b.sext(bytes, to: ints) : b.zext(bytes, to: ints)
                    let real = b.fmul(math.splat(quant.scales[0]), b.sitofp(b.sub(wide, splat(quant.zeroPoints[0])), to: floats))
                    value = b.fadd(value, real)
                }
            }
            guard case let .requantize(type, quant) = chain.output else { return value }
            let range = type.integerRange!, zeroPoint = quant.zeroPoints[0]
            let reciprocal = EpilogueChain.reciprocal(quant.scales[0])
            let scaled = foldsReciprocal ? math.gelu(value, scale: reciprocal) : b.fmul(value, math.splat(reciprocal))
            if let integerRounding {
                return b.trunc(math.roundAndClamp(scaled, zeroPoint: zeroPoint, range: range, clampsLower: integerRounding.clampsLower,
                                                 clampsUpper: integerRounding.clampsUpper, portable: portable),
                               to: context.vector(context.i8, width))
            }
            let quantized = math.saturatingRound(scaled, zeroPoint: splat(zeroPoint),
                                                 lowerMinusZero: math.splat(Float(range.lowerBound - zeroPoint)),
                                                 upperMinusZero: math.splat(Float(range.upperBound - zeroPoint)), portable: portable,
                                                 canBeNaN: chainCanBeNaN)
            return b.trunc(quantized, to: context.vector(context.i8, width))
        }
    }
}
