import Foundation

/// The spec fields of the operators other than matmul (`"op"` in a `qforge aot --spec` kernel):
/// ```json
/// {"name": "stem", "op": "conv", "x_shape": [1, 3, 224, 224], "w_shape": [32, 3, 3, 3], "layout": "nchw",
///  "strides": [2, 2], "pads": [1, 1, 1, 1], "dilations": [1, 1], "groups": 1, "x": "u8", "w": "s8",
///  "x_scale": 0.02, "x_zero_point": 128, "w_scales": [...], "output": "u8", "y_scale": 0.05, "bias": [...]}
/// {"name": "fc", "op": "dynamic_linear", "m": null, "k": 384, "n": 1536, "per_row": true, "b_scales": [...],
///  "output": "f32", "bias": [...]}
/// {"name": "q", "op": "quantize", "shape": [16, 384], "type": "u8", "axis": 1, "block_size": 0, "scales": [...],
///  "zero_points": [...]}                                  (also "dequantize"; "scale"/"zero_point" per tensor)
/// {"name": "dq", "op": "dynamic_quantize", "rows": 16, "columns": 384, "per_row": false}
/// {"name": "add", "op": "qlinear_add", "type": "u8", "a_shape": [16, 384], "b_shape": [384], "a_scale": 0.1,
///  "a_zero_point": 128, "b_scale": 0.1, "b_zero_point": 128, "y_scale": 0.2, "y_zero_point": 128}   (also "qlinear_mul")
/// {"name": "act", "op": "lookup", "function": "gelu", "count": 6144, "x": "u8", "x_scale": 0.05,
///  "x_zero_point": 128, "y": "u8", "y_scale": 0.02, "y_zero_point": 10}
/// {"name": "proj", "op": "nbits", "k": 4096, "n": 4096, "bits": 4, "block_size": 32, "zero_points": false,
///  "compute": "int8", "bias": false, "activation": "gelu"}       (MatMulNBits; M given per call)
/// {"name": "norm", "op": "layer_norm", "columns": 384, "epsilon": 1e-12, "residual": true, "output": "u8",
///  "y_scale": 0.05, "y_zero_point": 128}    (rows given per call; "output": "f32" (default) takes no y_*)
/// {"name": "probs", "op": "softmax", "scale": 0.125}               (rows, row length, valid per call)
/// {"name": "attn", "op": "attention", "heads": 12, "head_size": 32, "length": 128, "scale": 0.17677669,
///  "compute": "int8"}                  (attention over `length` tokens; valid keys per call; scale
///                                       defaults to 1/√head_size; "compute": "f32" the fused f32 kernel)
/// ```
extension AOTOperator {
    static let kinds = "matmul, conv, dynamic_linear, quantize, dequantize, dynamic_quantize, qlinear_add, qlinear_mul, lookup, nbits, layer_norm, softmax, attention"

    static func parse(_ kind: String, _ f: SpecFields) throws(QuantError) -> AOTOperator {
        do throws(QuantError) {
            switch kind {
            case "conv": return .convolution(try convolution(f))
            case "dynamic_linear": return .dynamicLinear(try dynamicLinear(f))
            case "quantize": return .quantize(QuantizeLinear(try quantization(f)))
            case "dequantize": return .dequantize(DequantizeLinear(try quantization(f)))
            case "dynamic_quantize":
                return .dynamicQuantize(try DynamicQuantizeLinear(rows: try f.int("rows"), columns: try f.int("columns"),
                                                                  perRow: try f.bool("per_row", default: false)))
            case "qlinear_add", "qlinear_mul":
                func quant(_ prefix: String) throws(QuantError) -> QuantParams {
                    .perTensor(scale: try f.float("\(prefix)_scale"), zeroPoint: try f.int32("\(prefix)_zero_point", default: 0))
                }
                return .binary(try QLinearBinary(kind == "qlinear_add" ? .add : .mul, type: try f.elementType("type"),
                                                 aShape: try f.ints("a_shape"), bShape: try f.ints("b_shape"), aQuant: try quant("a"),
                                                 bQuant: try quant("b"), yQuant: try quant("y")))
            case "lookup":
                return .lookup(try QuantizedLookup(try f.function("function"), count: try f.int("count"), inputType: try f.elementType("x"),
                                                   inputQuant: .perTensor(scale: try f.float("x_scale"), zeroPoint: try f.int32("x_zero_point", default: 0)),
                                                   outputType: try f.elementType("y"),
                                                   outputQuant: .perTensor(scale: try f.float("y_scale"), zeroPoint: try f.int32("y_zero_point", default: 0))))
            case "nbits":
                let computeName = try f.optionalString("compute") ?? "int8"
                guard let compute = NBitsLinear.Compute(rawValue: computeName) else { throw f.fail("compute", "'\(computeName)' is not int8 or f32") }
                return .nbitsLinear(try NBitsLinear(inputs: try f.int("k"), outputs: try f.int("n"), bits: try f.optionalInt("bits") ?? 4,
                                                    blockSize: try f.optionalInt("block_size") ?? 32,
                                                    zeroPoints: try f.bool("zero_points", default: false) ? .perBlock : .midpoint,
                                                    compute: compute, hasBias: try f.bool("bias", default: false),
                                                    activation: f.fields["activation"] == nil ? .none : try f.function("activation")))
            case "layer_norm":
                let outputName = try f.optionalString("output") ?? "f32"
                let output: LayerNormalization.Output = outputName == "f32" ? .f32
                    : .quantized(type: try f.elementType("output"), scale: try f.float("y_scale"), zeroPoint: try f.int32("y_zero_point", default: 0))
                return .layerNorm(try LayerNormalization(columns: try f.int("columns"), epsilon: try f.float("epsilon", default: 1e-5),
                                                         hasResidual: try f.bool("residual", default: false), output: output))
            case "softmax":
                return .softmax(try Softmax(scale: try f.float("scale", default: 1)))
            case "attention":
                let heads = try f.int("heads"), headSize = try f.int("head_size")
                let scale = try f.float("scale", default: 1 / Float(max(headSize, 1)).squareRoot())
                let length = try f.int("length"), compute = try f.optionalString("compute") ?? "int8"
                switch compute {
                case "int8":
                    let op = try QuantizedAttention(heads: heads, headSize: headSize, scale: scale)
                    try op.check(length: length, valid: length)
                    return .attention(op, length: length)
                case "f32":
                    let op = try F32Attention(heads: heads, headSize: headSize, scale: scale)
                    try op.check(length: length, valid: length)
                    return .f32Attention(op, length: length)
                default:
                    throw f.fail("compute", "'\(compute)' is not int8 or f32")
                }
            default:
                throw f.fail("op", "unknown operator '\(kind)' (\(kinds))")
            }
        } catch {
            if case .invalidSpec = error { throw error }
            throw .invalidSpec(path: f.path, reason: error.description)
        }
    }

    private static func convolution(_ f: SpecFields) throws(QuantError) -> Conv2D {
        let layoutName = try f.optionalString("layout") ?? "nchw"
        guard let layout = Conv2D.Layout(rawValue: layoutName) else { throw f.fail("layout", "'\(layoutName)' is not nchw or nhwc") }
        let x = try f.ints("x_shape"), w = try f.ints("w_shape")
        guard x.count == 4 else { throw f.fail("x_shape", "expected 4 dimensions") }
        guard w.count == 4 else { throw f.fail("w_shape", "expected [M, C/groups, KH, KW]") }
        let (batch, channels, height, width) = layout == .nchw ? (x[0], x[1], x[2], x[3]) : (x[0], x[3], x[1], x[2])
        let groups = try f.optionalInt("groups") ?? 1
        guard w[1] * groups == channels else { throw f.fail("w_shape", "\(w[1]) channels per group × \(groups) groups ≠ C = \(channels)") }
        return try Conv2D(batch: batch, inChannels: channels, height: height, width: width, outChannels: w[0], kernel: (w[2], w[3]),
                          strides: try f.optionalInts("strides") ?? [1, 1], pads: try f.optionalInts("pads") ?? [0, 0, 0, 0],
                          dilations: try f.optionalInts("dilations") ?? [1, 1], groups: groups, layout: layout,
                          xType: try f.elementType("x"), wType: try f.elementType("w", default: "s8"),
                          xQuant: .perTensor(scale: try f.float("x_scale", default: 1), zeroPoint: try f.int32("x_zero_point", default: 0)),
                          wQuant: try f.weightQuant(n: w[0], prefix: "w"), output: try f.output(n: w[0]))
    }

    private static func dynamicLinear(_ f: SpecFields) throws(QuantError) -> MatMul {
        let n = try f.int("n")
        let output = try f.output(n: n)
        if output == .int32 { throw f.fail("output", "a dynamic linear writes f32, u8 or s8") }
        return try MatMul(m: try f.optionalInt("m"), k: try f.int("k"), n: n, aType: .f32, bType: try f.elementType("b", default: "s8"),
                          bQuant: try f.weightQuant(n: n), output: output,
                          aQuantMode: try f.bool("per_row", default: true) ? .perRowAtRunTime : .perTensorAtRunTime)
    }

    private static func quantization(_ f: SpecFields) throws(QuantError) -> AxisQuantization {
        var scales = try f.floats("scales"), points = try f.int32s("zero_points")
        if scales == nil { scales = [try f.float("scale")] }
        if points == nil, f.fields["zero_point"] != nil { points = [try f.int32("zero_point", default: 0)] }
        return try AxisQuantization(shape: try f.ints("shape"), axis: try f.optionalInt("axis"), blockSize: try f.optionalInt("block_size") ?? 0,
                                    scales: scales!, zeroPoints: points, type: try f.elementType("type"))
    }
}

extension SpecFields {
    func optionalInts(_ key: String) throws(QuantError) -> [Int]? {
        guard let values = try floats(key) else { return nil }
        var result: [Int] = []
        for (index, value) in values.enumerated() {
            guard let exact = Int(exactly: value), abs(exact) <= 1 << 30 else { throw fail("\(key)[\(index)]", "expected an integer") }
            result.append(exact)
        }
        return result
    }

    func ints(_ key: String) throws(QuantError) -> [Int] {
        guard let values = try optionalInts(key) else { throw fail(key, "missing") }
        return values
    }

    func bool(_ key: String, default value: Bool) throws(QuantError) -> Bool {
        guard let raw = fields[key], !(raw is NSNull) else { return value }
        guard let number = raw as? NSNumber, type(of: number) == type(of: NSNumber(value: true)) else { throw fail(key, "expected true or false") }
        return number.boolValue
    }

    func elementType(_ key: String, default name: String) throws(QuantError) -> ElementType {
        guard fields[key] != nil else { return ElementType(rawValue: name)! }
        return try elementType(key)
    }

    /// An activation for a lookup: "none", "relu", "gelu", "sigmoid", "tanh" or {"clamp": [lo, hi]}.
    func function(_ key: String) throws(QuantError) -> Activation {
        switch fields[key] as? String {
        case "gelu": return .gelu
        case "sigmoid": return .sigmoid
        case "tanh": return .tanh
        case nil where fields[key] == nil: throw fail(key, "missing")
        default: return try SpecFields(fields: ["activation": fields[key]!], path: path).activation()
        }
    }
}
