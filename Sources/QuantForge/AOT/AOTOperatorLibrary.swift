import QuantCodegen

/// The operators of an AOT library other than matmuls: their raw kernels (compiled into the
/// library's object next to the matmuls) and the template context of `NAME_operators.h` and
/// `NAME_operators.c`, whose C functions call those kernels — one per instruction-set variant.
struct AOTOperatorLibrary {
    let specs: [KernelSpec]
    /// The variants' ISAs, best first (one entry per spec in single-ISA mode: see `isas(for:)`).
    let multiISA: Bool
    let variants: [ISA]
    let caches: CacheSizes
    let target: CodegenTarget

    /// The ISAs a spec's kernels are compiled for: every variant, or the spec's own (else the best).
    func isas(for spec: KernelSpec) -> [ISA] {
        multiISA ? variants : [spec.isa ?? AOTBuilder.bestISA(for: target)]
    }

    func symbol(_ spec: KernelSpec, _ part: String, _ isa: ISA) -> String {
        multiISA ? "\(spec.name)__\(part)__\(isa.rawValue)" : "\(spec.name)__\(part)"
    }

    /// Every raw kernel to compile.
    func requests() throws(QuantError) -> [AOTOperatorRequest] {
        var requests: [AOTOperatorRequest] = []
        for spec in specs {
            for isa in isas(for: spec) {
                for (part, kernel) in try spec.operation.parts(isa: isa, caches: caches) {
                    requests.append(AOTOperatorRequest(symbol: symbol(spec, part, isa), kernel: kernel, isa: isa))
                }
            }
        }
        return requests
    }

    /// The templates' context, given the raw kernels `requests()` listed and the library compiled
    /// from them (for the packed layouts).
    func context(_ compiled: AOTLibrary, requests: [AOTOperatorRequest]) throws(QuantError) -> [String: TemplateValue] {
        var rawKernels: [[String: TemplateValue]] = [], rawPackers: [[String: TemplateValue]] = []
        for request in requests {
            rawKernels.append(["raw_symbol": .text(request.symbol)])
            if compiled.operatorLayouts[request.symbol] != nil { rawPackers.append(["raw_symbol": .text(request.symbol + "_pack")]) }
        }
        var items: [[String: TemplateValue]] = []
        for spec in specs { items.append(try item(spec, compiled)) }
        return ["operators": .list(items), "raw_kernels": .list(rawKernels), "raw_packers": .list(rawPackers),
                "multi_isa": .flag(multiISA)]
    }

    /// "a, b, c" of one symbol per variant.
    private func perVariant(_ spec: KernelSpec, _ part: String) -> String {
        isas(for: spec).map { symbol(spec, part, $0) }.joined(separator: ", ")
    }

    private func item(_ spec: KernelSpec, _ compiled: AOTLibrary) throws(QuantError) -> [String: TemplateValue] {
        var item: [String: TemplateValue] = [
            "symbol": .text(spec.name), "upper": .text(spec.name.uppercased()),
            "is_convolution": .flag(false), "is_dynamic_linear": .flag(false), "is_quantize": .flag(false),
            "is_dequantize": .flag(false), "is_dynamic_quantize": .flag(false), "is_binary": .flag(false),
            "is_lookup": .flag(false), "is_elementwise": .flag(false), "is_nbits": .flag(false),
            "is_layer_norm": .flag(false), "is_softmax": .flag(false), "is_attention": .flag(false), "is_attention_call": .flag(false),
        ]
        let isas = isas(for: spec)
        func layout(_ part: String, _ isa: ISA) throws(QuantError) -> PackedLayout {
            guard let layout = compiled.operatorLayouts[symbol(spec, part, isa)] else {
                throw .compilationFailed(stage: "aot", message: "no packed layout for \(symbol(spec, part, isa))")
            }
            return layout
        }
        func lines(_ lines: [String]) -> TemplateValue { .text(lines.map { " *   " + $0 }.joined(separator: "\n")) }
        let isaText = "ISA: " + isas.map(\.rawValue).joined(separator: ", ")
        func elementwise(_ flag: String, summary: String, parameters: String, nullCheck: String, arguments: String,
                         details: [String]) {
            item[flag] = .flag(true)
            item["is_elementwise"] = .flag(true)
            item["summary"] = .text(summary)
            item["description"] = lines(details + [isaText])
            item["parameters"] = .text(parameters)
            item["null_check"] = .text(nullCheck)
            item["arguments"] = .text(arguments)
            item["kernel_symbols"] = .text(perVariant(spec, "kernel"))
        }
        switch spec.operation {
        case .matmul:
            throw .invalidSpec(path: spec.name, reason: "matmuls are built by the matmul library path")
        case let .dynamicLinear(op):
            item["is_dynamic_linear"] = .flag(true)
            item["summary"] = .text("dynamic quantized linear: f32 A[M x \(op.k)] -> u8 (DynamicQuantizeLinear \(op.aQuantMode == .perRowAtRunTime ? "per row" : "per tensor")) · \(op.bType.rawValue) B[\(op.k) x \(op.n)] -> \(op.output.elementType.rawValue) C[M x \(op.n)]")
            item["description"] = lines(["M: " + (op.m.map { "fixed at \($0)" } ?? "given per call"),
                                         "B: " + AOTBuilder.describe(quant: op.bQuant),
                                         "output: " + AOTBuilder.describe(output: op.output), isaText])
            item["k"] = .text("\(op.k)")
            item["n"] = .text("\(op.n)")
            item["m"] = .text("\(op.m ?? 0)")
            item["parameter_count"] = .text(op.aQuantMode == .perRowAtRunTime ? "m (one per row)" : "1")
            item["params_symbols"] = .text(perVariant(spec, "params"))
            item["matmul_symbols"] = .text(perVariant(spec, "matmul"))
            item["pack_symbols"] = .text(isas.map { symbol(spec, "matmul", $0) + "_pack" }.joined(separator: ", "))
            var sizes: [String] = [], panels: [String] = []
            for isa in isas {
                let packed = try layout("matmul", isa)
                sizes.append("\(packed.totalBytes)")
                panels.append("\(packed.panels)")
            }
            item["packed_sizes"] = .text(sizes.joined(separator: ", "))
            item["panel_counts"] = .text(panels.joined(separator: ", "))
        case let .convolution(conv):
            item["is_convolution"] = .flag(true)
            let dims = conv.layout == .nchw ? "[\(conv.batch), \(conv.inChannels), \(conv.height), \(conv.width)]"
                : "[\(conv.batch), \(conv.height), \(conv.width), \(conv.inChannels)]"
            let outDims = conv.layout == .nchw ? "[\(conv.batch), \(conv.outChannels), \(conv.outputHeight), \(conv.outputWidth)]"
                : "[\(conv.batch), \(conv.outputHeight), \(conv.outputWidth), \(conv.outChannels)]"
            item["summary"] = .text("\(conv.isDepthwise ? "depthwise " : "")convolution, \(conv.layout.rawValue.uppercased()): \(conv.xType.rawValue) X\(dims) * \(conv.wType.rawValue) W[\(conv.outChannels), \(conv.groupInChannels), \(conv.kernelHeight), \(conv.kernelWidth)] -> \(conv.output.elementType.rawValue) Y\(outDims)")
            item["description"] = lines(["strides \(conv.strides), pads \(conv.pads) (top, left, bottom, right), dilations \(conv.dilations), groups \(conv.groups)",
                                         "X: " + AOTBuilder.describe(quant: conv.xQuant), "W: " + AOTBuilder.describe(quant: conv.wQuant),
                                         "output: " + AOTBuilder.describe(output: conv.output),
                                         conv.isDepthwise ? "depthwise microkernel" : "implicit GEMM per group", isaText])
            let xBytes = conv.inputElements * conv.xType.byteSize
            let yBytes = conv.outputElements * conv.output.elementType.byteSize
            item["x_elements"] = .text("\(conv.inputElements)")
            item["w_elements"] = .text("\(conv.weightElements)")
            item["y_elements"] = .text("\(conv.outputElements)")
            item["x_bytes"] = .text("\(xBytes)")
            item["scratch_bytes"] = .text(conv.layout == .nchw ? "\((xBytes + 63) / 64 * 64 + yBytes)" : "0")
            item["is_nchw"] = .flag(conv.layout == .nchw)
            item["to_nhwc_symbols"] = .text(conv.layout == .nchw ? perVariant(spec, "to_nhwc") : "")
            item["to_nchw_symbols"] = .text(conv.layout == .nchw ? perVariant(spec, "to_nchw") : "")
            var residual = false
            if case let .chain(chain) = conv.output, chain.residual != nil { residual = true }
            item["has_residual"] = .text(residual ? "1" : "0")
            item["channels"] = .text("\(conv.inChannels)")
            item["out_channels"] = .text("\(conv.outChannels)")
            item["pixels"] = .text("\(conv.gemmRows)")
            item["x_element_bytes"] = .text("\(conv.xType.byteSize)")
            item["y_element_bytes"] = .text("\(conv.output.elementType.byteSize)")
            item["is_gemm"] = .flag(!conv.isDepthwise)
            item["is_depthwise"] = .flag(conv.isDepthwise)
            if conv.isDepthwise {
                item["dw_symbols"] = .text(perVariant(spec, "dw"))
                item["dw_pack_symbols"] = .text(perVariant(spec, "dw_pack"))
                item["dw_packed_bytes"] = .text(isas.map { "\(DepthwiseWeights.packedBytes(conv, isa: $0))" }.joined(separator: ", "))
            } else {
                let (unique, groupPart) = try AOTOperator.distinctGroups(conv)
                let parts = unique.indices.map { "g\($0)" }
                item["part_count"] = .text("\(parts.count)")
                item["groups"] = .text("\(conv.groups)")
                item["group_parts"] = .text(groupPart.map { "\($0)" }.joined(separator: ", "))
                item["group_in"] = .text("\(conv.groupInChannels)")
                item["group_out"] = .text("\(conv.groupOutChannels)")
                item["k"] = .text("\(conv.gemmDepth)")
                item["kernel_h"] = .text("\(conv.kernelHeight)")
                item["kernel_w"] = .text("\(conv.kernelWidth)")
                func table(_ entry: (String, ISA) throws(QuantError) -> String) throws(QuantError) -> String {
                    var rows: [String] = []
                    for isa in isas {
                        var row: [String] = []
                        for part in parts { row.append(try entry(part, isa)) }
                        rows.append("{" + row.joined(separator: ", ") + "}")
                    }
                    return rows.joined(separator: ", ")
                }
                item["kernel_table"] = .text(try table { part, isa in symbol(spec, part, isa) })
                item["packer_table"] = .text(try table { part, isa in symbol(spec, part, isa) + "_pack" })
                item["part_bytes"] = .text(try table { part, isa throws(QuantError) in "\(try layout(part, isa).totalBytes)" })
                item["part_panels"] = .text(try table { part, isa throws(QuantError) in "\(try layout(part, isa).panels)" })
            }
        case let .quantize(op):
            let q = op.quantization
            item["elements"] = .text("\(q.count)")
            elementwise("is_quantize", summary: "QuantizeLinear: f32 x\(q.shape) -> \(q.type.rawValue)", parameters: "const float *x, void *y",
                        nullCheck: "!x || !y", arguments: "x, 0, y, 0, 0, 0, 0", details: [AOTBuilder.describe(axis: q)])
        case let .dequantize(op):
            let q = op.quantization
            item["elements"] = .text("\(q.count)")
            elementwise("is_dequantize", summary: "DequantizeLinear: \(q.type.rawValue) x\(q.shape) -> f32", parameters: "const void *x, float *y",
                        nullCheck: "!x || !y", arguments: "x, 0, y, 0, 0, 0, 0", details: [AOTBuilder.describe(axis: q)])
        case let .dynamicQuantize(op):
            item["rows"] = .text("\(op.rows)")
            item["columns"] = .text("\(op.columns)")
            item["parameter_count"] = .text(op.perRow ? "\(op.rows)" : "1")
            elementwise("is_dynamic_quantize", summary: "DynamicQuantizeLinear: f32 x[\(op.rows) x \(op.columns)] -> u8, \(op.perRow ? "a scale and zero point per row" : "one scale and zero point")",
                        parameters: "const float *x, uint8_t *y, float *scales, int32_t *zero_points",
                        nullCheck: "!x || !y || !scales || !zero_points", arguments: "x, 0, y, scales, zero_points, 0, \(op.rows)", details: [])
        case let .binary(op):
            item["a_elements"] = .text("\(op.aShape.reduce(1, *))")
            item["b_elements"] = .text("\(op.bShape.reduce(1, *))")
            item["y_elements"] = .text("\(op.count)")
            elementwise("is_binary", summary: "\(op.kind == .add ? "QLinearAdd" : "QLinearMul"): \(op.type.rawValue) A\(op.aShape), B\(op.bShape) (broadcast) -> Y\(op.shape)",
                        parameters: "const void *a, const void *b, void *y", nullCheck: "!a || !b || !y", arguments: "a, b, y, 0, 0, 0, 0",
                        details: ["A: " + AOTBuilder.describe(quant: op.aQuant), "B: " + AOTBuilder.describe(quant: op.bQuant),
                                  "Y: " + AOTBuilder.describe(quant: op.yQuant)])
        case let .nbitsLinear(op):
            item["is_nbits"] = .flag(true)
            item["summary"] = .text("MatMulNBits: f32 A[M x \(op.inputs)] · \(op.bits)-bit W[\(op.outputs) x \(op.inputs)] (blocks of \(op.blockSize) along K) -> f32 Y[M x \(op.outputs)]")
            item["description"] = lines(["zero points: " + (op.zeroPoints == .perBlock ? "one per block (packed like B)" : "\(op.midpoint)"),
                                         "compute: " + (op.compute == .int8 ? "A quantized to int8 per block (accuracy_level 4)" : "f32 (accuracy_level 0)"),
                                         "bias: \(op.hasBias ? "yes" : "no"), activation: \(AOTBuilder.describe(activation: op.activation))", isaText])
            item["k"] = .text("\(op.inputs)")
            item["n"] = .text("\(op.outputs)")
            item["b_bytes"] = .text("\(op.quantizedWeightBytes)")
            item["scale_count"] = .text("\(op.scaleCount)")
            item["zero_point_bytes"] = .text("\(op.zeroPointBytes)")
            item["has_zero_points"] = .text(op.zeroPoints == .perBlock ? "1" : "0")
            item["has_bias"] = .text(op.hasBias ? "1" : "0")
            item["is_int8"] = .flag(op.compute == .int8)
            var layouts: [NBitsLayout] = []
            for isa in isas { layouts.append(try NBitsLayout(op, isa: isa)) }
            let side = layouts[0]
            item["side_bytes"] = .text("\(side.sideBytes)")
            item["side_bias_offset"] = .text("\(side.sideBiasOffset)")
            item["side_zero_points_offset"] = .text("\(side.sideZeroPointsOffset)")
            item["packed_sizes"] = .text(layouts.map { "\($0.byteCount)" }.joined(separator: ", "))
            item["panel_counts"] = .text(layouts.map { "\($0.panels)" }.joined(separator: ", "))
            item["row_strides"] = .text(layouts.map { "\($0.quantizedRowStride)" }.joined(separator: ", "))
            item["pack_symbols"] = .text(perVariant(spec, "pack"))
            item["quantize_symbols"] = .text(op.compute == .int8 ? perVariant(spec, "quantize_a") : "")
            item["linear_symbols"] = .text(perVariant(spec, "linear"))
        case let .layerNorm(op):
            item["columns"] = .text("\(op.columns)")
            item["has_residual"] = .text(op.hasResidual ? "1" : "0")
            let output: String, outputType: String
            switch op.output {
            case .f32: (output, outputType) = ("f32", "float")
            case let .quantized(type, scale, zeroPoint):
                (output, outputType) = ("\(type.rawValue) (QuantizeLinear fused: scale \(scale), zero point \(zeroPoint))",
                                        type == .u8 ? "uint8_t" : "int8_t")
            }
            item["y_type"] = .text(outputType)
            elementwise("is_layer_norm", summary: "LayerNormalization: f32 x[rows x \(op.columns)]\(op.hasResidual ? " + residual" : "") -> \(output)",
                        parameters: "const float *x, const float *residual, const float *gamma, const float *beta, \(outputType) *y, int64_t rows",
                        nullCheck: "!x || !gamma || !beta || !y || !residual != !\(op.hasResidual ? 1 : 0) || rows < 0 || rows > (1 << 24)",
                        arguments: "x, residual, y, (void *)gamma, (void *)beta, 0, rows",
                        details: ["epsilon \(op.epsilon); y = (v - mean) * rstd * gamma + beta, v = x\(op.hasResidual ? " + residual" : "")"])
        case let .softmax(op):
            elementwise("is_softmax", summary: "Softmax: f32 rows of scale * x, scale \(op.scale), over the first `valid` columns (0 after)",
                        parameters: "const float *x, float *y, int64_t rows, int64_t columns, int64_t valid",
                        nullCheck: "!x || !y || rows < 0 || rows > (1 << 24) || columns < 1 || columns > (1 << 24) || valid < 0 || valid > columns",
                        arguments: "x, 0, y, (void *)(intptr_t)columns, (void *)(intptr_t)valid, 0, rows", details: [])
        case let .attention(op, length):
            item["is_attention"] = .flag(true)
            item["summary"] = .text("int8 attention: f32 Q, K, V of \(length) tokens × \(op.heads) heads of \(op.headSize) -> f32 (QuantizedAttention)")
            item["description"] = lines(["softmax(scale · Q·Kᵀ) · V per head, scale \(op.scale); Q, K, V quantized per token and head "
                                         + "(amax/127), P per row to u8", isaText])
            let scratches = try isas.map { isa throws(QuantError) in
                AttentionScratch(op, instruction: try AttentionScratch.instruction(for: isa), length: length)
            }
            let regions = scratches.map { ($0.bytes + 63) / 64 * 64 }
            let total = zip(scratches, regions).map { $1 + 4 * $0.scoreCount }.max() ?? 0
            if total > QuantizedAttentionKernel.scratchLimit {
                throw .invalidSpec(path: spec.name, reason: "\(length) tokens × \(op.heads) heads need \(total) bytes of scratch (at most \(QuantizedAttentionKernel.scratchLimit))")
            }
            item["length"] = .text("\(length)")
            item["heads"] = .text("\(op.heads)")
            item["head_size"] = .text("\(op.headSize)")
            item["scratch_bytes"] = .text("\(total)")
            item["header_count"] = .text("\(AttentionScratch.Field.allCases.count)")
            item["headers"] = .text(scratches.map { "{" + $0.header.map(String.init).joined(separator: ", ") + "}" }.joined(separator: ", "))
            item["region_bytes"] = .text(regions.map(String.init).joined(separator: ", "))
            item["key_columns"] = .text(scratches.map { "\($0[.keyColumns])" }.joined(separator: ", "))
            item["is_attention_call"] = .flag(true)
            item["scores_symbols"] = .text(perVariant(spec, "scores"))
            item["softmax_symbols"] = .text(perVariant(spec, "softmax"))
            item["context_symbols"] = .text(perVariant(spec, "context"))
        case let .f32Attention(op, length):
            let bytes = 4 * op.heads * op.scratchFloatsPerHead(length: length)
            if bytes > F32AttentionKernel.scratchLimit {
                throw .invalidSpec(path: spec.name, reason: "\(length) tokens × \(op.heads) heads need \(bytes) bytes of scratch (at most \(F32AttentionKernel.scratchLimit))")
            }
            elementwise("is_attention_call", summary: "fused f32 attention: f32 Q, K, V of \(length) tokens × \(op.heads) heads of \(op.headSize) -> f32 (F32Attention)",
                        parameters: "const float *qkv, int64_t valid, float *output, void *scratch",
                        nullCheck: "!qkv || !output || !scratch || ((uintptr_t)scratch & 63) || valid < 1 || valid > \(length)",
                        arguments: "qkv, scratch, output, (void *)(intptr_t)\(length), (void *)(intptr_t)valid, 0, \(op.heads)",
                        details: ["softmax(scale · Q·Kᵀ) · V per head, scale \(op.scale); each product one chain of fused multiply-adds"])
            item["length"] = .text("\(length)")
            item["heads"] = .text("\(op.heads)")
            item["head_size"] = .text("\(op.headSize)")
            item["scratch_bytes"] = .text("\(bytes)")
        case let .lookup(op):
            item["elements"] = .text("\(op.count)")
            elementwise("is_lookup", summary: "\(AOTBuilder.describe(activation: op.function)) through a 256-entry table: \(op.inputType.rawValue) x[\(op.count)] -> \(op.outputType.rawValue)",
                        parameters: "const void *x, void *y", nullCheck: "!x || !y", arguments: "x, 0, y, 0, 0, 0, \(op.count)",
                        details: ["x: " + AOTBuilder.describe(quant: op.inputQuant), "y: " + AOTBuilder.describe(quant: op.outputQuant)])
        }
        return item
    }
}
