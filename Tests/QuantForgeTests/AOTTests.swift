import Foundation
import LLVMKit
import QuantForge
import QuantForgeTooling
import Testing

/// `qforge aot` output: reproducible bytes, kernels that run bit-exact from C on this machine and
/// under qemu, an x86-64-v3 variant, the multi-ISA dispatcher, and clear errors for bad specs.
struct AOTTests {
    static let root = CrossRunner.packageRoot
    static let drivers = root.appendingPathComponent("Tests/QuantForgeTests/Fixtures/drivers")
    static let generatedSets: [(preset: TargetPreset, library: String, folder: String)] = [
        (.x86_64_v4_vnni, "qf_transformer_x86_64_v4", "x86-64-v4-vnni"),
        (.aarch64_dotprod, "qf_transformer_aarch64", "aarch64-dotprod"),
    ]

    /// The LLVM major version generated/ was built with, as its x86 header's first line names it
    /// ("… QuantForge 0.6.0 (LLVM 14) …"). Other LLVM versions emit other bytes.
    static let generatedLLVMMajor: Int? = {
        let header = root.appendingPathComponent("generated/x86-64-v4-vnni/qf_transformer_x86_64_v4.h")
        guard let text = try? String(contentsOf: header, encoding: .utf8),
              let range = text.range(of: "(LLVM ") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }()

    static func transformerSpecs() throws -> [KernelSpec] {
        try KernelSpec.parse(Data(contentsOf: root.appendingPathComponent("generated/transformer_spec.json")))
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-aot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func write(_ files: [String: [UInt8]], to directory: URL) throws {
        for (name, bytes) in files { try Data(bytes).write(to: directory.appendingPathComponent(name)) }
    }

    /// Builds aot_driver against a library in `directory`.
    static func buildDriver(_ architecture: CToolchain.Architecture, library: String, directory: URL) throws -> URL {
        let program = directory.appendingPathComponent("driver_\(library)")
        try CToolchain.build(architecture, sources: [drivers.appendingPathComponent("aot_driver.c")],
                             objects: [directory.appendingPathComponent("\(library).o")],
                             defines: ["QF_HEADER=\"\(library).h\"", "QF_TABLE=\(library)_kernels"],
                             includes: [directory, SourceTree.drivers], output: program)
        return program
    }

    /// Runs one kernel of a library through the driver; returns C (or the packed B).
    static func runKernel(_ program: URL, _ architecture: CToolchain.Architecture, name: String, m: Int, a: [UInt8], b: [UInt8],
                          directory: URL, mode: String? = nil) throws -> [UInt8] {
        let aFile = directory.appendingPathComponent("a.bin"), bFile = directory.appendingPathComponent("b.bin")
        let out = directory.appendingPathComponent("out.bin")
        try Data(a).write(to: aFile)
        try Data(b).write(to: bFile)
        let outcome = try CToolchain.execute(program, architecture, [name, "\(m)", aFile.path, bFile.path, out.path] + (mode.map { [$0] } ?? []))
        try #require(outcome.status == 0, "\(name) exited \(outcome.status): \(outcome.stderr)")
        return Array(try Data(contentsOf: out))
    }

    @Test(.enabled(if: (generatedLLVMMajor ?? LLVM.majorVersion) == LLVM.majorVersion, "generated/ is tied to the LLVM its headers name"))
    func generatedIsReproducibleByteForByte() throws {
        #expect(Self.generatedLLVMMajor != nil)
        let specs = try Self.transformerSpecs()
        #expect(specs.count == 18)
        let operatorSpecs = try KernelSpec.parse(Data(contentsOf: Self.root.appendingPathComponent("generated/operators_spec.json")))
        #expect(operatorSpecs.count == 17 && operatorSpecs.allSatisfy { $0.op == nil })
        let operatorSets = Self.generatedSets.map { set in
            (preset: set.preset, library: set.library.replacingOccurrences(of: "transformer", with: "operators"), folder: set.folder)
        }
        for (set, kernels) in Self.generatedSets.map({ ($0, specs) }) + operatorSets.map({ ($0, operatorSpecs) }) {
            let files = try AOTBuilder.build(kernels, target: set.preset.target, library: set.library)
            for (name, bytes) in files {
                let checkedIn = try Data(contentsOf: Self.root.appendingPathComponent("generated/\(set.folder)/\(name)"))
                let same = Array(checkedIn) == bytes
                let firstDifference = zip(checkedIn, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                #expect(same, "generated/\(set.folder)/\(name) (\(checkedIn.count) bytes) differs from a fresh build (\(bytes.count) bytes) at byte \(firstDifference ?? min(checkedIn.count, bytes.count)): run tools/regenerate_generated.sh")
            }
        }
    }

    @Test func theSameInputsGiveTheSameBytes() throws {
        let specs = [KernelSpec(name: "qf_a", op: try MatMul(m: nil, k: 33, n: 20, aType: .s8, bType: .s8))]
        for preset in [TargetPreset.x86_64_multi, .aarch64_multi] {
            #expect(try AOTBuilder.build(specs, target: preset.target, library: "qf_det", multiISA: true)
                == AOTBuilder.build(specs, target: preset.target, library: "qf_det", multiISA: true))
        }
    }

    /// generated/'s x86 library is built for x86-64-v4 with VNNI: it runs where the CPU has that
    /// (elsewhere the multi-ISA libraries of AOTOperatorTests and AOTTests cover the host's ISAs).
    @Test(.enabled(if: HostCPU.current.supports(.avx512vnni), "the x86-64-v4 set needs AVX-512 VNNI"))
    func generatedX86KernelsAreBitExactFromC() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let set = Self.generatedSets[0]
        for file in ["\(set.library).o", "\(set.library).h"] {
            try FileManager.default.copyItem(at: Self.root.appendingPathComponent("generated/\(set.folder)/\(file)"),
                                             to: directory.appendingPathComponent(file))
        }
        let program = try Self.buildDriver(.host, library: set.library, directory: directory)
        var random = TestRandom(seed: 2024)
        for spec in try Self.transformerSpecs() {
            let m = spec.op!.m!, k = spec.op!.k, n = spec.op!.n
            let a = random.bytes(m * k), b = random.bytes(k * n)
            let c = try Self.runKernel(program, .host, name: spec.name, m: m, a: a, b: b, directory: directory)
            #expect(c == ReferenceMatMul.run(spec.op!, a: a, b: b, m: m), "\(spec.name)")
            if m == 16 {
                // The packing routine in the object packs exactly as the Swift packer does.
                let packed = try Self.runKernel(program, .host, name: spec.name, m: m, a: a, b: b, directory: directory, mode: "--pack-only")
                let schedule = try DefaultSchedule.forMatMul(spec.op!, isa: .avx512vnni, caches: AOTBuilder.referenceCaches)
                let swiftPacked = try b.withUnsafeBytes {
                    try WeightPacker.pack(spec.op!, b: $0, ldb: n, instruction: try schedule.instruction(),
                                          layout: try schedule.layout(k: k, n: n), signature: "")
                }
                #expect(packed == swiftPacked.contents, "\(spec.name) packing")
            }
        }
    }

    @Test func generatedAArch64KernelsAreBitExactUnderQemu() throws {
        _ = try CrossRunner()
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let set = Self.generatedSets[1]
        for file in ["\(set.library).o", "\(set.library).h"] {
            try FileManager.default.copyItem(at: Self.root.appendingPathComponent("generated/\(set.folder)/\(file)"),
                                             to: directory.appendingPathComponent(file))
        }
        let program = try Self.buildDriver(.aarch64, library: set.library, directory: directory)
        var random = TestRandom(seed: 7)
        for spec in try Self.transformerSpecs() where spec.op!.m! <= 16 {
            let m = spec.op!.m!, a = random.bytes(m * spec.op!.k), b = random.bytes(spec.op!.k * spec.op!.n)
            let c = try Self.runKernel(program, .aarch64, name: spec.name, m: m, a: a, b: b, directory: directory)
            #expect(c == ReferenceMatMul.run(spec.op!, a: a, b: b, m: m), "\(spec.name)")
        }
    }

    @Test func anX86_64_v3LibraryUsesAVX2AndRunsHere() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = TestRandom(seed: 3)
        let ops = [
            try randomMatMul(&random, m: nil, k: 70, n: 45, mode: .requantized, perChannel: true, aType: .s8, bType: .u8),
            try randomMatMul(&random, m: nil, k: 33, n: 100, mode: .dequantized, perChannel: false, aType: .u8, bType: .s8),
        ]
        let specs = ops.enumerated().map { KernelSpec(name: "qf_v3_\($0.offset)", op: $0.element) }
        let files = try AOTBuilder.build(specs, target: TargetPreset.x86_64_v3.target, library: "qf_v3")
        #expect(String(decoding: files["qf_v3.h"]!, as: UTF8.self).contains("ISA: avx2"))
        try Self.write(files, to: directory)
        let program = try Self.buildDriver(.host, library: "qf_v3", directory: directory)
        for (spec, m) in zip(specs, [9, 17]) {
            let a = random.bytes(m * spec.op!.k), b = random.bytes(spec.op!.k * spec.op!.n)
            #expect(try Self.runKernel(program, .host, name: spec.name, m: m, a: a, b: b, directory: directory)
                == ReferenceMatMul.run(spec.op!, a: a, b: b, m: m), "\(spec.name)")
        }
    }

    /// A matmul library for AMX with its tiles emulated runs here: the AMX kernels and their
    /// generated packers (K padded to whole 64-byte tile rows) from C, bit-exact, every signedness
    /// pair, with tails in M, K and N.
    @Test(.enabled(if: HostCPU.current.supports(.avx512vnni)))
    func anEmulatedAMXLibraryRunsHere() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = TestRandom(seed: 17)
        let host = TargetPreset.host.target
        let target = CodegenTarget(triple: host.triple, cpu: host.cpu, features: host.features, emulatesAMX: true)
        let ops = [
            try randomMatMul(&random, m: nil, k: 70, n: 45, mode: .requantized, perChannel: true, aType: .s8, bType: .u8),
            try randomMatMul(&random, m: nil, k: 133, n: 100, mode: .dequantized, perChannel: false, aType: .u8, bType: .s8),
            try randomMatMul(&random, m: nil, k: 64, n: 17, mode: .int32, perChannel: false, aType: .u8, bType: .u8),
            try randomMatMul(&random, m: nil, k: 5, n: 33, mode: .requantized, perChannel: false, aType: .s8, bType: .s8),
        ]
        let specs = ops.enumerated().map { KernelSpec(name: "qf_amx_\($0.offset)", op: $0.element) }
        let files = try AOTBuilder.build(specs, target: target, library: "qf_amx")
        #expect(String(decoding: files["qf_amx.h"]!, as: UTF8.self).contains("ISA: amx"))
        try Self.write(files, to: directory)
        let program = try Self.buildDriver(.host, library: "qf_amx", directory: directory)
        for (spec, m) in zip(specs, [9, 40, 16, 1]) {
            let a = random.bytes(m * spec.op!.k), b = random.bytes(spec.op!.k * spec.op!.n)
            #expect(try Self.runKernel(program, .host, name: spec.name, m: m, a: a, b: b, directory: directory)
                == ReferenceMatMul.run(spec.op!, a: a, b: b, m: m), "\(spec.name)")
        }
    }

    /// Builds a one-kernel (`qf_mm`) multi-ISA library and its driver.
    static func multiISAProgram(_ preset: TargetPreset, _ architecture: CToolchain.Architecture, op: MatMul,
                                directory: URL) throws -> URL {
        let files = try AOTBuilder.build([KernelSpec(name: "qf_mm", op: op)], target: preset.target, library: "qf_multi", multiISA: true)
        try Self.write(files, to: directory)
        let program = directory.appendingPathComponent("multi")
        try CToolchain.build(architecture, sources: [Self.drivers.appendingPathComponent("multi_isa_driver.c"),
                                                    directory.appendingPathComponent("qf_multi_dispatch.c")],
                             objects: [directory.appendingPathComponent("qf_multi.o")],
                             defines: ["QF_HEADER=\"qf_multi.h\"", "QF_ISA_FUNCTION=qf_multi_isa",
                                       "QF_C_BYTES=\(op.output.elementType.byteSize)"],
                             includes: [directory], output: program)
        return program
    }

    static func runMulti(_ program: URL, _ architecture: CToolchain.Architecture, m: Int, a: [UInt8], b: [UInt8], directory: URL,
                         isa: String?, cpu: String? = nil) throws -> (CToolchain.Outcome, [UInt8]) {
        let aFile = directory.appendingPathComponent("a.bin"), bFile = directory.appendingPathComponent("b.bin")
        let out = directory.appendingPathComponent("out.bin")
        try? FileManager.default.removeItem(at: out)
        try Data(a).write(to: aFile)
        try Data(b).write(to: bFile)
        let outcome = try CToolchain.execute(program, architecture, ["\(m)", aFile.path, bFile.path, out.path], cpu: cpu,
                                             environment: isa.map { ["QFORGE_ISA": $0] } ?? [:])
        return (outcome, outcome.status == 0 ? Array(try Data(contentsOf: out)) : [])
    }

    @Test func multiISADispatcherOnX86() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = TestRandom(seed: 11)
        let op = try randomMatMul(&random, m: nil, k: 45, n: 70, mode: .requantized, perChannel: true, aType: .u8, bType: .s8)
        let program = try Self.multiISAProgram(.x86_64_multi, .host, op: op, directory: directory)
        let m = 13, a = random.bytes(m * 45), b = random.bytes(45 * 70)
        let expected = ReferenceMatMul.run(op, a: a, b: b, m: m)
        let (automatic, autoOutput) = try Self.runMulti(program, .host, m: m, a: a, b: b, directory: directory, isa: nil)
        // (The dispatcher reads CPUID: an emulated AMX is not AMX to it.)
        let best = HostCPU.current.availableISAs.first { !($0 == .amx && HostCPU.current.amxEmulation) } ?? .portable
        #expect(automatic.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == best.rawValue)
        #expect(autoOutput == expected)
        for isa in ["avx512vnni", "avxvnni", "avx2", "portable"] where HostCPU.current.supports(ISA(rawValue: isa)!) {
            let (outcome, output) = try Self.runMulti(program, .host, m: m, a: a, b: b, directory: directory, isa: isa)
            #expect(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == isa, "\(outcome.stderr)")
            #expect(output == expected, "\(isa)")
        }
        for missing in ["amx", "neondot", "nonsense"] {
            let (outcome, _) = try Self.runMulti(program, .host, m: m, a: a, b: b, directory: directory, isa: missing)
            #expect(outcome.status == 12, "QFORGE_ISA=\(missing) must give QF_ERROR_UNKNOWN_ISA, got \(outcome.status)")
        }
    }

    @Test func multiISADispatcherOnAArch64() throws {
        _ = try CrossRunner()
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = TestRandom(seed: 12)
        let op = try randomMatMul(&random, m: nil, k: 37, n: 21, mode: .int32, perChannel: false, aType: .s8, bType: .u8)
        let program = try Self.multiISAProgram(.aarch64_multi, .aarch64, op: op, directory: directory)
        let m = 5, a = random.bytes(m * 37), b = random.bytes(37 * 21)
        let expected = ReferenceMatMul.run(op, a: a, b: b, m: m)
        for (cpu, isa, chosen) in [("max", nil, "i8mm"), ("max", "neondot", "neondot"), ("max", "portable", "portable"),
                                   ("cortex-a76", nil, "neondot"), ("cortex-a53", nil, "portable")] as [(String, String?, String)] {
            let (outcome, output) = try Self.runMulti(program, .aarch64, m: m, a: a, b: b, directory: directory, isa: isa, cpu: cpu)
            #expect(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == chosen, "\(cpu) \(isa ?? "auto"): \(outcome.stderr)")
            #expect(output == expected, "\(cpu) \(chosen)")
        }
        let (refused, _) = try Self.runMulti(program, .aarch64, m: m, a: a, b: b, directory: directory, isa: "neondot", cpu: "cortex-a53")
        #expect(refused.status == 12)
    }

    @Test func badSpecsNameTheirPath() throws {
        func error(_ json: String) -> String? {
            do { _ = try KernelSpec.parse(Data(json.utf8)); return nil } catch { return error.description }
        }
        #expect(error("{") != nil)
        #expect(error("[]")?.contains("$") == true)
        #expect(error(#"{"kernels": []}"#)?.contains("no kernels") == true)
        #expect(error(#"{"kernels": [{"k": 4, "n": 4}]}"#)?.contains("kernels[0].name") == true)
        #expect(error(#"{"kernels": [{"name": "x", "k": "4", "n": 4}]}"#)?.contains("kernels[0].k") == true)
        #expect(error(#"{"kernels": [{"name": "x", "k": true, "n": 4}]}"#)?.contains("kernels[0].k") == true)
        #expect(error(#"{"kernels": [{"name": "x", "k": 4, "n": 4, "preset": "fp64"}]}"#)?.contains("preset") == true)
        #expect(error(#"{"kernels": [{"name": "x", "k": 4, "n": 4, "b_scales": [1, 2]}]}"#)?.contains("bQuant.scales") == true)
        #expect(error(#"{"kernels": [{"name": "x", "k": 4, "n": 4, "a_scale": -1}]}"#)?.contains("aQuant.scales") == true)
        #expect(error(#"{"kernels": [{"name": "x", "k": 4, "n": 4, "output": "u8"}]}"#)?.contains("y_scale") == true)
        #expect(error(#"{"kernels": [{"name": "1x", "k": 4, "n": 4}]}"#)?.contains("C identifier") == true)
        #expect(error(#"{"kernels": [{"name": "x", "k": 4, "n": 4, "isa": "sse9"}]}"#)?.contains("kernels[0].isa") == true)
        #expect(error(#"{"kernels": [{"name": "x", "k": 4, "n": 4, "activation": {"clamp": [2, 1]}}]}"#) != nil)
        // Int8 attention: a head size that is not a multiple of 4, no length, a length past the maximum.
        #expect(error(#"{"kernels": [{"name": "a", "op": "attention", "heads": 2, "head_size": 6, "length": 8}]}"#)?.contains("headSize") == true)
        #expect(error(#"{"kernels": [{"name": "a", "op": "attention", "heads": 2, "head_size": 8}]}"#)?.contains("length") == true)
        #expect(error(#"{"kernels": [{"name": "a", "op": "attention", "heads": 2, "head_size": 8, "length": 5000}]}"#)?.contains("length") == true)
        let attention = try KernelSpec.parse(Data(#"{"kernels": [{"name": "a", "op": "attention", "heads": 2, "head_size": 16, "length": 8}]}"#.utf8))
        if case let .attention(op, length) = attention[0].operation { #expect(length == 8 && op.scale == 0.25) } else { Issue.record("not attention") }
        // "compute": "f32" is the fused f32 kernel; other values name the field.
        let fused = try KernelSpec.parse(Data(#"{"kernels": [{"name": "a", "op": "attention", "heads": 2, "head_size": 16, "length": 8, "compute": "f32"}]}"#.utf8))
        if case let .f32Attention(op, length) = fused[0].operation { #expect(length == 8 && op.heads == 2) } else { Issue.record("not f32 attention") }
        #expect(error(#"{"kernels": [{"name": "a", "op": "attention", "heads": 2, "head_size": 8, "length": 8, "compute": "f16"}]}"#)?.contains("compute") == true)
        #expect(error(#"{"kernels": [{"name": "a", "op": "attention", "heads": 2, "head_size": 6, "length": 8, "compute": "f32"}]}"#)?.contains("headSize") == true)
        let ok = try KernelSpec.parse(Data(#"{"kernels": [{"name": "x", "m": null, "k": 4, "n": 2, "a": "s8", "b": "u8", "b_scales": [0.5, 0.25], "b_zero_points": [3, 4], "output": "f32", "bias": [1.5, -2], "activation": "relu"}]}"#.utf8))
        #expect(ok[0].op!.m == nil && ok[0].op!.bQuant.granularity == .perChannel)
    }

    @Test func templatesRefuseUnknownNames() throws {
        #expect(throws: QuantError.self) { _ = try Template.render("{{missing}}", [:]) }
        #expect(throws: QuantError.self) { _ = try Template.render("{{#list}}x", ["list": .list([])]) }
        #expect(try Template.render("a{{#l}}[{{x}}]{{/l}}b", ["l": .list([["x": .text("1")], ["x": .text("2")]])]) == "a[1][2]b")
    }
}
