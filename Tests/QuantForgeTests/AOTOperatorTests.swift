import Foundation
import QuantForge
import QuantForgeTooling
import Testing

/// `qforge aot` libraries of every operator (convolutions NCHW and NHWC, grouped and depthwise, with
/// a residual chain; dynamic linears; QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
/// QLinearAdd/Mul, lookups; MatMulNBits 4 and 8 bits; LayerNorm, softmax, int8 and fused f32 attention): built for x86 (one ISA, and every ISA with the dispatcher, each forced)
/// and AArch64 (under qemu), run from a C program through `NAME_operators.h`, bit-exact against the
/// reference interpreter.
struct AOTOperatorTests {
    /// One operator of the test library, its inputs, and what the reference says it writes.
    struct Case {
        let spec: KernelSpec
        /// The C statements that run it (inputs read from and outputs written to the folder).
        let code: String
        let inputs: [String: [UInt8]]
        let expected: [String: [UInt8]]
    }

    static func floatBytes(_ values: [Float]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    static func cases() throws -> [Case] {
        var random = TestRandom(seed: 16)
        var cases: [Case] = []
        func convolutionCase(_ name: String, _ conv: Conv2D, residual: Bool = false) {
            let x = random.bytes(conv.inputElements), w = random.bytes(conv.weightElements)
            let r = residual ? random.bytes(conv.outputElements) : nil
            let size = conv.output.elementType.byteSize
            let upper = name.uppercased()
            let code = """
                { int64_t bytes = 0; CHECK(\(name)_packed_bytes(&bytes)); void *packed = aligned(bytes);
                  CHECK(\(name)_pack(load(dir, "\(name).w"), packed));
                  void *y = malloc(\(upper)_Y_ELEMENTS * \(size)); void *scratch = \(upper)_SCRATCH_BYTES ? aligned(\(upper)_SCRATCH_BYTES) : 0;
                  CHECK(\(name)_run(load(dir, "\(name).x"), packed, y, \(residual ? "load(dir, \"\(name).r\")" : "0"), scratch));
                  save(dir, "\(name).y", y, \(upper)_Y_ELEMENTS * \(size)); }
                """
            var inputs = ["\(name).x": x, "\(name).w": w]
            if let r { inputs["\(name).r"] = r }
            cases.append(Case(spec: KernelSpec(name: name, operation: .convolution(conv)), code: code, inputs: inputs,
                              expected: ["\(name).y": ReferenceOperators.conv(conv, x: x, w: w, residual: r)]))
        }
        let perChannel = QuantParams.perChannel(scales: (0..<10).map { 0.002 + Float($0) * 0.0007 }, zeroPoints: [0])
        convolutionCase("stem", try Conv2D(inChannels: 3, height: 17, width: 15, outChannels: 10, kernel: (3, 3), strides: [2, 2],
                                           pads: [1, 1, 1, 1], layout: .nchw, xQuant: .perTensor(scale: 0.02, zeroPoint: 120),
                                           wQuant: perChannel,
                                           output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.05, zeroPoint: 3),
                                                                      bias: (0..<10).map { Int32($0 * 300 - 1500) }, activation: .relu))))
        convolutionCase("grouped", try Conv2D(batch: 2, inChannels: 6, height: 9, width: 8, outChannels: 4, kernel: (3, 2),
                                              pads: [1, 0, 1, 1], dilations: [2, 1], groups: 2, layout: .nchw, wType: .u8,
                                              xQuant: .perTensor(scale: 1, zeroPoint: 5), wQuant: .perTensor(scale: 1, zeroPoint: 131)))
        convolutionCase("residual", try Conv2D(inChannels: 7, height: 6, width: 5, outChannels: 9, kernel: (1, 1),
                                               xQuant: .perTensor(scale: 0.04, zeroPoint: 17), wQuant: .perTensor(scale: 0.01),
                                               output: .chain(EpilogueChain([.bias((0..<9).map { Float($0) - 4 }), .activation(.relu),
                                                                             .residualAdd(type: .s8, quant: .perTensor(scale: 0.1, zeroPoint: -2))],
                                                                            output: .requantize(type: .s8, quant: .perTensor(scale: 0.2, zeroPoint: 1))))),
                        residual: true)
        // Window rows of 3·32 bytes: the microkernel reads interior windows in place (every ISA's K group divides 96).
        convolutionCase("wide3x3", try Conv2D(inChannels: 32, height: 9, width: 10, outChannels: 12, kernel: (3, 3), pads: [1, 1, 1, 1],
                                              xType: .s8, xQuant: .perTensor(scale: 0.02, zeroPoint: -7),
                                              wQuant: .perChannel(scales: (0..<12).map { 0.002 + Float($0) * 0.0003 }, zeroPoints: [0]),
                                              output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.4, zeroPoint: 128),
                                                                         bias: (0..<12).map { Int32($0 * 97 - 600) }))))
        convolutionCase("depthwise", try Conv2D(inChannels: 21, height: 9, width: 11, outChannels: 21, kernel: (3, 3), pads: [1, 1, 1, 1],
                                                groups: 21, xQuant: .perTensor(scale: 0.03, zeroPoint: 7), wQuant: .perTensor(scale: 0.004),
                                                output: .requantized(.init(type: .u8, output: .perTensor(scale: 0.08, zeroPoint: 100),
                                                                           bias: (0..<21).map { Int32($0 * 13) }))))
        convolutionCase("depthwise_nchw", try Conv2D(inChannels: 5, height: 8, width: 7, outChannels: 5, kernel: (5, 5), strides: [2, 1],
                                                     pads: [2, 2, 2, 2], groups: 5, layout: .nchw, wType: .u8,
                                                     xQuant: .perTensor(scale: 0.03, zeroPoint: 200), wQuant: .perTensor(scale: 0.01, zeroPoint: 128),
                                                     output: .dequantized(.init(bias: [1, 2, 3, 4, 5]))))
        for (name, perRow, m, output) in [("fc", true, 6, MatMulOutput.dequantized(.init(bias: (0..<33).map { Float($0) / 8 }))),
                                          ("fc_requantized", false, 4, .chain(EpilogueChain([], output: .requantize(type: .u8, quant: .perTensor(scale: 0.5, zeroPoint: 128)))))] {
            let op = try MatMul(m: name == "fc" ? nil : m, k: 70, n: 33, aType: .f32, bType: .s8,
                                bQuant: .perChannel(scales: (0..<33).map { 0.001 + Float($0 % 5) * 0.001 }, zeroPoints: [0]),
                                output: output, aQuantMode: perRow ? .perRowAtRunTime : .perTensorAtRunTime)
            let a = (0..<(m * 70)).map { _ in random.float(-4...6) }, b = random.bytes(70 * 33)
            let count = perRow ? m : 1, size = op.output.elementType.byteSize
            let code = """
                { int64_t bytes = 0; CHECK(\(name)_packed_bytes(&bytes)); void *packed = aligned(bytes);
                  CHECK(\(name)_pack(load(dir, "\(name).b"), 33, packed));
                  void *c = malloc(\(m) * 33 * \(size)); float scales[\(count)]; int32_t points[\(count)];
                  CHECK(\(name)_run((const float *)load(dir, "\(name).a"), packed, c, \(m), scales, points));
                  if (\(name)_run((const float *)load(dir, "\(name).a"), packed, c, 0, scales, points) != QF_ERROR_ARGUMENT) return 3;
                  save(dir, "\(name).c", c, \(m) * 33 * \(size)); }
                """
            cases.append(Case(spec: KernelSpec(name: name, operation: .dynamicLinear(op)), code: code,
                              inputs: ["\(name).a": floatBytes(a), "\(name).b": b],
                              expected: ["\(name).c": ReferenceOperators.dynamicLinear(op, a: a, b: b, m: m)]))
        }
        let blocked = try AxisQuantization(shape: [3, 10], axis: 1, blockSize: 4, scales: (0..<9).map { 0.01 * Float($0 + 1) },
                                           zeroPoints: (0..<9).map { Int32($0 * 7000) }, type: .u16)
        let x = (0..<30).map { _ in random.float(-300...300) }
        cases.append(Case(spec: KernelSpec(name: "quantize", operation: .quantize(QuantizeLinear(blocked))),
                          code: "{ uint16_t y[30]; CHECK(quantize_run((const float *)load(dir, \"quantize.x\"), y)); save(dir, \"quantize.y\", y, sizeof y); }",
                          inputs: ["quantize.x": floatBytes(x)], expected: ["quantize.y": ReferenceOperators.quantize(QuantizeLinear(blocked), x)]))
        let perAxis = try AxisQuantization(shape: [3, 4, 5], axis: 1, scales: [0.01, 0.02, 0.05, 0.1], zeroPoints: [0, -3, 7, 127], type: .s8)
        let q = random.bytes(60)
        cases.append(Case(spec: KernelSpec(name: "dequantize", operation: .dequantize(DequantizeLinear(perAxis))),
                          code: "{ float y[60]; CHECK(dequantize_run(load(dir, \"dequantize.x\"), y)); save(dir, \"dequantize.y\", y, sizeof y); }",
                          inputs: ["dequantize.x": q], expected: ["dequantize.y": floatBytes(ReferenceOperators.dequantize(DequantizeLinear(perAxis), q))]))
        let dynamic = try DynamicQuantizeLinear(rows: 4, columns: 30, perRow: true)
        let d = (0..<120).map { _ in random.float(-2...9) }
        let (dy, ds, dz) = ReferenceOperators.dynamicQuantize(dynamic, d)
        cases.append(Case(spec: KernelSpec(name: "dynamic", operation: .dynamicQuantize(dynamic)),
                          code: """
                              { uint8_t y[120]; float s[4]; int32_t z[4];
                                CHECK(dynamic_run((const float *)load(dir, "dynamic.x"), y, s, z));
                                save(dir, "dynamic.y", y, sizeof y); save(dir, "dynamic.s", s, sizeof s); save(dir, "dynamic.z", z, sizeof z); }
                              """,
                          inputs: ["dynamic.x": floatBytes(d)],
                          expected: ["dynamic.y": dy, "dynamic.s": floatBytes(ds), "dynamic.z": dz.withUnsafeBytes { Array($0) }]))
        for kind in [QLinearBinary.Kind.add, .mul] {
            let name = kind == .add ? "add" : "mul"
            let op = try QLinearBinary(kind, type: .s8, aShape: [2, 3, 4], bShape: [3, 1], aQuant: .perTensor(scale: 0.05, zeroPoint: -128),
                                       bQuant: .perTensor(scale: 0.02, zeroPoint: 10), yQuant: .perTensor(scale: 0.07, zeroPoint: 120))
            let a = random.bytes(24), b = random.bytes(3)
            cases.append(Case(spec: KernelSpec(name: name, operation: .binary(op)),
                              code: "{ int8_t y[24]; CHECK(\(name)_run(load(dir, \"\(name).a\"), load(dir, \"\(name).b\"), y)); save(dir, \"\(name).y\", y, 24); }",
                              inputs: ["\(name).a": a, "\(name).b": b], expected: ["\(name).y": ReferenceOperators.binary(op, a: a, b: b)]))
        }
        // MatMulNBits: 4 bits with zero points, int8 compute, bias + GELU; 8 bits, f32 compute.
        for (name, op) in [("nbits4", try NBitsLinear(inputs: 75, outputs: 37, bits: 4, blockSize: 32, zeroPoints: .perBlock, compute: .int8,
                                                      hasBias: true, activation: .gelu)),
                           ("nbits8", try NBitsLinear(inputs: 64, outputs: 20, bits: 8, blockSize: 16, compute: .f32))] {
            let m = 5, upper = name.uppercased()
            let a = (0..<(m * op.inputs)).map { _ in random.float(-3...3) }, b = random.bytes(op.quantizedWeightBytes)
            let scales = (0..<op.scaleCount).map { _ in random.float(0.001...0.02) }
            let zp = op.zeroPoints == .perBlock ? random.bytes(op.zeroPointBytes) : nil
            let bias = op.hasBias ? (0..<op.outputs).map { _ in random.float(-1...1) } : nil
            var inputs = ["\(name).a": floatBytes(a), "\(name).b": b, "\(name).s": floatBytes(scales)]
            if let zp { inputs["\(name).z"] = zp }
            if let bias { inputs["\(name).bias"] = floatBytes(bias) }
            let code = """
                { int64_t bytes = 0; CHECK(\(name)_packed_bytes(&bytes)); void *packed = aligned(bytes);
                  CHECK(\(name)_pack(load(dir, "\(name).b"), (const float *)load(dir, "\(name).s"), \(zp == nil ? "0" : "load(dir, \"\(name).z\")"),
                                     \(bias == nil ? "0" : "(const float *)load(dir, \"\(name).bias\")"), packed));
                  if (\(name)_pack(load(dir, "\(name).b"), (const float *)load(dir, "\(name).s"), \(zp == nil ? "load(dir, \"\(name).b\")" : "0"), 0, packed) != QF_ERROR_ARGUMENT) return 7;
                  float *y = malloc(\(m) * \(upper)_N * sizeof(float));
                  CHECK(\(name)_run((const float *)load(dir, "\(name).a"), \(m), packed, y));
                  if (\(name)_run((const float *)load(dir, "\(name).a"), 0, packed, y) != QF_ERROR_ARGUMENT) return 8;
                  save(dir, "\(name).y", y, \(m) * \(upper)_N * sizeof(float)); }
                """
            cases.append(Case(spec: KernelSpec(name: name, operation: .nbitsLinear(op)), code: code, inputs: inputs,
                              expected: ["\(name).y": floatBytes(ReferenceOperators.nbitsLinear(op, a: a, rows: m, b: b, scales: scales,
                                                                                                   zeroPoints: zp, bias: bias))]))
        }
        // LayerNorm with the residual and a quantized (u8) output; softmax with a key-padding mask.
        let norm = try LayerNormalization(columns: 37, epsilon: 1e-12, hasResidual: true,
                                          output: .quantized(type: .u8, scale: 0.03, zeroPoint: 128))
        let normX = (0..<(3 * 37)).map { _ in random.float(-3...3) }, normR = (0..<(3 * 37)).map { _ in random.float(-1...1) }
        let gamma = (0..<37).map { _ in random.float(0.5...1.5) }, beta = (0..<37).map { _ in random.float(-0.5...0.5) }
        cases.append(Case(spec: KernelSpec(name: "norm", operation: .layerNorm(norm)),
                          code: """
                              { uint8_t y[3 * NORM_COLUMNS]; const float *x = load(dir, "norm.x"), *r = load(dir, "norm.r");
                                const float *g = load(dir, "norm.g"), *b = load(dir, "norm.b");
                                CHECK(norm_run(x, r, g, b, y, 3));
                                if (norm_run(x, 0, g, b, y, 3) != QF_ERROR_ARGUMENT || norm_run(x, r, g, b, y, -1) != QF_ERROR_ARGUMENT) return 9;
                                save(dir, "norm.y", y, sizeof y); }
                              """,
                          inputs: ["norm.x": floatBytes(normX), "norm.r": floatBytes(normR), "norm.g": floatBytes(gamma), "norm.b": floatBytes(beta)],
                          expected: ["norm.y": ReferenceOperators.layerNormQuantized(norm, x: normX, residual: normR, gamma: gamma, beta: beta, rows: 3)]))
        let softmax = try Softmax(scale: 0.125)
        let scores = (0..<(4 * 21)).map { _ in random.float(-20...20) }
        cases.append(Case(spec: KernelSpec(name: "probs", operation: .softmax(softmax)),
                          code: """
                              { float y[4 * 21]; const float *x = load(dir, "probs.x");
                                CHECK(probs_run(x, y, 4, 21, 17));
                                if (probs_run(x, y, 4, 21, 22) != QF_ERROR_ARGUMENT) return 10;
                                save(dir, "probs.y", y, sizeof y); }
                              """,
                          inputs: ["probs.x": floatBytes(scores)],
                          expected: ["probs.y": floatBytes(ReferenceOperators.softmax(softmax, x: scores, rows: 4, columns: 21, valid: 17))]))
        // Int8 attention: 13 tokens (not a whole number of vectors or K groups), 3 heads of 12, 11 valid keys.
        let attention = try QuantizedAttention(heads: 3, headSize: 12, scale: 0.3)
        let (length, valid) = (13, 11)
        let qkv = (0..<(length * attention.inputColumns)).map { _ in random.float(-3...3) }
        cases.append(Case(spec: KernelSpec(name: "attn", operation: .attention(attention, length: length)),
                          code: """
                              { void *scratch = aligned(ATTN_SCRATCH_BYTES); float y[ATTN_LENGTH * ATTN_HEADS * ATTN_HEAD_SIZE];
                                const float *qkv = load(dir, "attn.qkv");
                                CHECK(attn_run(qkv, \(valid), y, scratch));
                                if (attn_run(qkv, 0, y, scratch) != QF_ERROR_ARGUMENT || attn_run(qkv, ATTN_LENGTH + 1, y, scratch) != QF_ERROR_ARGUMENT
                                    || attn_run(qkv, 1, y, (char *)scratch + 8) != QF_ERROR_ARGUMENT) return 11;
                                save(dir, "attn.y", y, sizeof y); }
                              """,
                          inputs: ["attn.qkv": floatBytes(qkv)],
                          expected: ["attn.y": floatBytes(ReferenceOperators.quantizedAttention(attention, qkv: qkv, length: length, valid: valid))]))
        // Fused f32 attention over the same sequence (13 tokens: a partial block of queries and of keys).
        let fused = try F32Attention(heads: 3, headSize: 12, scale: 0.3)
        cases.append(Case(spec: KernelSpec(name: "fused", operation: .f32Attention(fused, length: length)),
                          code: """
                              { void *scratch = aligned(FUSED_SCRATCH_BYTES); float y[FUSED_LENGTH * FUSED_HEADS * FUSED_HEAD_SIZE];
                                const float *qkv = load(dir, "attn.qkv");
                                CHECK(fused_run(qkv, \(valid), y, scratch));
                                if (fused_run(qkv, 0, y, scratch) != QF_ERROR_ARGUMENT || fused_run(qkv, FUSED_LENGTH + 1, y, scratch) != QF_ERROR_ARGUMENT
                                    || fused_run(qkv, 1, y, (char *)scratch + 8) != QF_ERROR_ARGUMENT) return 12;
                                save(dir, "fused.y", y, sizeof y); }
                              """,
                          inputs: [:],
                          expected: ["fused.y": floatBytes(ReferenceOperators.f32Attention(fused, qkv: qkv, length: length, valid: valid))]))
        let lookup = try QuantizedLookup(.gelu, count: 256, inputType: .u8, inputQuant: .perTensor(scale: 0.05, zeroPoint: 128),
                                         outputType: .s8, outputQuant: .perTensor(scale: 0.02))
        let all = (0..<256).map { UInt8($0) }
        cases.append(Case(spec: KernelSpec(name: "gelu", operation: .lookup(lookup)),
                          code: "{ int8_t y[256]; CHECK(gelu_run(load(dir, \"gelu.x\"), y)); save(dir, \"gelu.y\", y, 256); }",
                          inputs: ["gelu.x": all], expected: ["gelu.y": ReferenceOperators.lookup(lookup, all)]))
        return cases
    }

    /// A C program that runs every case's code on the files in argv[1].
    static func driver(_ cases: [Case], library: String) -> String {
        """
        #include "\(library).h"
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        static void *load(const char *dir, const char *name) {
            char path[4096]; snprintf(path, sizeof path, "%s/%s", dir, name);
            FILE *f = fopen(path, "rb"); if (!f) { perror(path); exit(2); }
            fseek(f, 0, SEEK_END); long size = ftell(f); fseek(f, 0, SEEK_SET);
            void *data = malloc(size ? size : 1); if (fread(data, 1, size, f) != (size_t)size) exit(2); fclose(f); return data;
        }
        static void save(const char *dir, const char *name, const void *data, size_t size) {
            char path[4096]; snprintf(path, sizeof path, "%s/%s.out", dir, name);
            FILE *f = fopen(path, "wb"); if (!f || fwrite(data, 1, size, f) != size) exit(2); fclose(f);
        }
        static void *aligned(int64_t bytes) { void *p = 0; if (posix_memalign(&p, 64, bytes ? bytes : 64)) exit(2); return p; }
        #define CHECK(call) do { int status_ = (call); if (status_) { fprintf(stderr, "%s: %d\\n", #call, status_); return 1; } } while (0)
        int main(int argc, char **argv) {
            const char *dir = argv[1];
            (void)argc;
        \(cases.map(\.code).joined(separator: "\n"))
            /* bad input */
            if (quantize_run(0, 0) != QF_ERROR_ARGUMENT) return 4;
            if (stem_pack(load(dir, "stem.w"), (char *)aligned(128) + 1) != QF_ERROR_ARGUMENT) return 5;
            if (residual_run(load(dir, "residual.x"), aligned(1 << 16), malloc(1 << 16), 0, 0) != QF_ERROR_ARGUMENT) return 6;
            return 0;
        }
        """
    }

    /// Builds the library and the driver; runs it once per ISA in `isas` (nil: the dispatcher's
    /// choice), comparing every output with the reference.
    static func check(_ preset: TargetPreset, _ architecture: CToolchain.Architecture, multiISA: Bool, runs: [(isa: String?, cpu: String?)]) throws {
        try check(preset.target, architecture, multiISA: multiISA, runs: runs, label: preset.rawValue)
    }

    static func check(_ target: CodegenTarget, _ architecture: CToolchain.Architecture, multiISA: Bool, runs: [(isa: String?, cpu: String?)],
                      label preset: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-aot-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cases = try cases()
        let library = "qf_ops"
        let files = try AOTBuilder.build(cases.map(\.spec), target: target, library: library, multiISA: multiISA)
        #expect(files.keys.contains("\(library)_operators.h") && files.keys.contains("\(library)_operators.c"))
        for (name, bytes) in files { try Data(bytes).write(to: directory.appendingPathComponent(name)) }
        let source = directory.appendingPathComponent("driver.c")
        try driver(cases, library: library).write(to: source, atomically: true, encoding: .utf8)
        var sources = [source, directory.appendingPathComponent("\(library)_operators.c")]
        if multiISA { sources.append(directory.appendingPathComponent("\(library)_dispatch.c")) }
        let program = directory.appendingPathComponent("driver")
        try CToolchain.build(architecture, sources: sources, objects: [directory.appendingPathComponent("\(library).o")],
                             includes: [directory], libraries: ["m"], output: program)
        for testCase in cases {
            for (name, bytes) in testCase.inputs { try Data(bytes).write(to: directory.appendingPathComponent(name)) }
        }
        for run in runs {
            let outcome = try CToolchain.execute(program, architecture, [directory.path], cpu: run.cpu,
                                                 environment: run.isa.map { ["QFORGE_ISA": $0] } ?? [:])
            try #require(outcome.status == 0, "\(preset) \(run.isa ?? "auto"): exit \(outcome.status) \(outcome.stderr)")
            for testCase in cases {
                for (name, expected) in testCase.expected {
                    let got = Array(try Data(contentsOf: directory.appendingPathComponent("\(name).out")))
                    #expect(got == expected, "\(preset) \(run.isa ?? "auto"): \(name) differs from the reference")
                }
            }
        }
    }

    @Test func everyOperatorFromAnX86MultiISALibrary() throws {
        let runs = ["avx512vnni", "avxvnni", "avx2", "portable"].filter { HostCPU.current.supports(ISA(rawValue: $0)!) }
        try Self.check(.x86_64_multi, .host, multiISA: true, runs: [(nil, nil)] + runs.map { ($0, nil) })
    }

    /// Every function of a multi-ISA library's AVX2, AVX-VNNI and portable variants — kernels,
    /// weight packers, operators — is code for that ISA only, whatever the module's features
    /// (AVX-512 and AMX for the other variants): no zmm or mask register in the ymm variants, no
    /// VEX code in the portable one. The AVX2 variant's weight packers once used zmm stores and
    /// died with SIGILL on an AVX2-only CPU (Zen 3); this checks the object on any x86 host.
    @Test func multiISAVariantsUseOnlyTheirOwnInstructions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-aot-isa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = try AOTBuilder.build(try Self.cases().map(\.spec), target: TargetPreset.x86_64_multi.target, library: "qf_isa", multiISA: true)
        let object = directory.appendingPathComponent("qf_isa.o")
        try Data(try #require(files["qf_isa.o"])).write(to: object)
        let listing = try CToolchain.run("/usr/bin/objdump", ["-d", "--no-show-raw-insn", object.path])
        try #require(listing.status == 0, "objdump: \(listing.stderr)")
        var function = "", checked: [String: Int] = [:], offending: [String: String] = [:]
        for line in listing.stdout.split(separator: "\n") {
            if line.hasSuffix(">:"), let open = line.firstIndex(of: "<") {
                function = String(line[line.index(after: open)..<line.index(line.endIndex, offsetBy: -2)])
                continue
            }
            let variant = ["avxvnni", "avx2", "portable"].first { function.contains("__\($0)") }
            guard let variant, line.contains("\t") else { continue }
            checked[variant, default: 0] += 1
            let instruction = String(line.split(separator: "\t", maxSplits: 1).last ?? "")
            let wide = instruction.contains("zmm") || instruction.range(of: "%k[0-7]", options: .regularExpression) != nil
            let vex = instruction.contains("ymm") || instruction.hasPrefix("v")
            if wide || (variant == "portable" && vex) { offending[function] = offending[function] ?? instruction }
        }
        #expect(["avxvnni", "avx2", "portable"].allSatisfy { (checked[$0] ?? 0) > 1000 }, "\(checked)")
        #expect(offending.isEmpty, "\(offending.sorted { $0.key < $1.key }.prefix(8))")
    }

    /// Each variant of a multi-ISA library packs depthwise weights for the kernel that variant
    /// runs (its generated packer is built on the same instruction): the AMX variant's depthwise
    /// kernel is built on AVX-512 VNNI (four taps per `vpdpbusd`), so its packed size is the tap
    /// groups' — not the int32 taps' of a non-VNNI ISA, which an AMX CPU was once given.
    @Test func depthwisePackingFollowsEachVariantsKernel() throws {
        let conv = try Conv2D(inChannels: 24, height: 6, width: 6, outChannels: 24, kernel: (3, 3), pads: [1, 1, 1, 1], groups: 24,
                              xQuant: .perTensor(scale: 0.03, zeroPoint: 7), wQuant: .perTensor(scale: 0.004))
        let files = try AOTBuilder.build([KernelSpec(name: "dw", operation: .convolution(conv))], target: TargetPreset.x86_64_multi.target,
                                         library: "qf_dw", multiISA: true)
        func list(_ file: String, after marker: String) throws -> [String] {
            let text = String(decoding: try #require(files[file]), as: UTF8.self)
            let start = try #require(text.range(of: marker)).upperBound
            let end = try #require(text[start...].range(of: "}")).lowerBound
            return text[start..<end].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " {\"")) }
        }
        let variants = try list("qf_dw_dispatch.c", after: "qf_variants[] =").map { try #require(ISA(rawValue: $0)) }
        let sizes = try list("qf_dw_operators.c", after: "dw__dw_packed_bytes[] =")
        #expect(variants.contains(.amx) && variants.count == sizes.count, "\(variants) \(sizes)")
        for (isa, size) in zip(variants, sizes) {
            let kind = try InstructionTable.vectorInstruction(for: isa).kind
            let vnni = kind == .avx512Vpdpbusd || kind == .avxVnniVpdpbusd
            // 24 channels × (3 groups of 4 taps, or 9 int32 taps) + 24 compensation words.
            #expect(size == (vnni ? "\(4 * (3 * 24 + 24))" : "\(4 * (9 * 24 + 24))"), "\(isa): \(size) bytes, the kernel's instruction \(kind)")
        }
    }

    /// A library for AMX with its tiles emulated, so that it runs here: every operator's AMX
    /// variant end to end from C — tile GEMMs (K padded to 64) with their generated packers, and
    /// the operators that run on AVX-512 VNNI with their packing (the depthwise tap groups).
    @Test(.enabled(if: HostCPU.current.supports(.avx512vnni)))
    func everyOperatorFromAnEmulatedAMXLibrary() throws {
        let host = TargetPreset.host.target
        let target = CodegenTarget(triple: host.triple, cpu: host.cpu, features: host.features, emulatesAMX: true)
        #expect(AOTBuilder.bestISA(for: target) == .amx)
        try Self.check(target, .host, multiISA: false, runs: [(nil, nil)], label: "host, AMX emulated")
    }

    @Test func everyOperatorFromASingleISAHostLibrary() throws {
        try Self.check(.host, .host, multiISA: false, runs: [(nil, nil)])
    }

    @Test func everyOperatorFromAnAArch64LibraryUnderQemu() throws {
        _ = try CrossRunner()
        try Self.check(.aarch64_multi, .aarch64, multiISA: true, runs: [("i8mm", "max"), ("neondot", "max"), ("portable", "max")])
    }
}
