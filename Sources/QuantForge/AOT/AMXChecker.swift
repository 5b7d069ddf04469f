import LLVMKit

/// The standalone AMX checker (`qforge amx-checker`): one C program — no Swift, no LLVM — holding,
/// per shape, an AMX kernel and its AVX-512 VNNI twin (AOT objects, int32 output), a C reference,
/// a bit-exact check and a timing loop that alternates the two, plus the AMX peak probe. Copied to
/// a machine with AMX, it verifies and measures in one command. The emulated variant is the same
/// program with the tile operations emulated (`CodegenTarget.emulatesAMX`): it runs on any CPU
/// with AVX-512 VNNI, which is how CI proves the program itself.
public enum AMXChecker {
    /// One shape of the check: M × K × N, A's type (B is s8) and A's zero point.
    public struct Shape: Sendable, Hashable {
        public var m: Int
        public var k: Int
        public var n: Int
        public var aSigned: Bool

        public init(m: Int, k: Int, n: Int, aSigned: Bool = false) {
            self.m = m
            self.k = k
            self.n = n
            self.aSigned = aSigned
        }

        var name: String { "\(aSigned ? "s8s8s32" : "u8s8s32") \(m)x\(k)x\(n)" }
        var aZeroPoint: Int32 { aSigned ? -5 : 3 }
    }

    /// The peers' M ≥ 16 shapes (u8s8s32, and s8s8s32 on two), 1024³ (the peak comparison) and two
    /// shapes with tails in every dimension.
    public static let defaultShapes: [Shape] = [
        Shape(m: 19, k: 83, n: 37), Shape(m: 50, k: 200, n: 40, aSigned: true),
        Shape(m: 16, k: 768, n: 768), Shape(m: 16, k: 768, n: 3072), Shape(m: 16, k: 3072, n: 768),
        Shape(m: 128, k: 384, n: 384), Shape(m: 128, k: 768, n: 768), Shape(m: 128, k: 768, n: 3072),
        Shape(m: 128, k: 3072, n: 768), Shape(m: 128, k: 768, n: 768, aSigned: true),
        Shape(m: 256, k: 256, n: 256), Shape(m: 1024, k: 1024, n: 1024),
    ]

    /// The AMX targets: Sapphire Rapids' features, or (emulated) AVX-512 only.
    public static func target(emulated: Bool) -> CodegenTarget {
        emulated
            ? CodegenTarget(triple: "x86_64-unknown-linux-gnu", cpu: "x86-64-v4", features: "+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512vnni",
                            emulatesAMX: true)
            : CodegenTarget(triple: "x86_64-unknown-linux-gnu", cpu: "sapphirerapids",
                            features: "+avx512f,+avx512bw,+avx512dq,+avx512vl,+avx512vnni,+amx-tile,+amx-int8")
    }

    /// The program's files: `NAME.c`, `NAME_kernels.o` (the kernels and packers) and
    /// `NAME_peak.o` (the AMX peak probe). Link: `cc -O2 -static NAME.c NAME_kernels.o NAME_peak.o`.
    public static func build(shapes: [Shape] = defaultShapes, emulated: Bool, name: String = "amx_checker") throws(QuantError) -> [String: [UInt8]] {
        guard !shapes.isEmpty else { throw .invalidArgument(field: "shapes", reason: "the checker needs at least one shape") }
        let target = target(emulated: emulated)
        let caches = AOTBuilder.referenceCaches
        var requests: [AOTRequest] = []
        for (index, shape) in shapes.enumerated() {
            let op = try MatMul(m: shape.m, k: shape.k, n: shape.n, aType: shape.aSigned ? .s8 : .u8, bType: .s8,
                                aQuant: .perTensor(scale: 1, zeroPoint: shape.aZeroPoint))
            for isa in [ISA.amx, .avx512vnni] {
                requests.append(AOTRequest(symbol: "qf_check\(index)_\(isa.rawValue)", op: op,
                                           schedule: try DefaultSchedule.forMatMul(op, isa: isa, caches: caches)))
            }
        }
        let library = try AOTCompiler.compileLibrary(requests, target: target, moduleName: name)
        let peak = try PeakProbe.tileProbeObject(target: target, symbol: "qf_amx_peak")
        let kernels: [[String: TemplateValue]] = shapes.enumerated().map { index, shape in
            let amx = library.kernels[2 * index], vnni = library.kernels[2 * index + 1]
            return ["name": .text(shape.name), "m": .text("\(shape.m)"), "k": .text("\(shape.k)"), "n": .text("\(shape.n)"),
                    "a_signed": .text(shape.aSigned ? "1" : "0"), "a_zero_point": .text("\(shape.aZeroPoint)"),
                    "amx": .text(amx.symbol), "vnni": .text(vnni.symbol),
                    "amx_bytes": .text("\(amx.layout.totalBytes)"), "vnni_bytes": .text("\(vnni.layout.totalBytes)"),
                    "amx_panels": .text("\(amx.layout.panels)"), "vnni_panels": .text("\(vnni.layout.panels)")]
        }
        guard let template = PackageFiles.text("templates/amx_checker.c.template") else {
            throw .invalidSpec(path: "templates/amx_checker.c.template", reason: "not built into this library")
        }
        guard let checks = PackageFiles.text("templates/x86_cpu_checks.c.template") else {
            throw .invalidSpec(path: "templates/x86_cpu_checks.c.template", reason: "not built into this library")
        }
        let instruction = InstructionTable.amxTile
        let source = try Template.render(template, [
            "x86_cpu_checks": .text(checks),
            "program": .text(name), "version": .text("\(generatorVersion) (LLVM \(LLVM.majorVersion))"), "triple": .text(target.triple),
            "mode": .text(emulated ? "AMX emulated with AVX-512" : "AMX"), "emulated": .text(emulated ? "1" : "0"),
            "peak_macs": .text("\(PeakProbe.tilePeakAccumulators * instruction.lanes * instruction.kStep).0"), "kernels": .list(kernels),
        ])
        return ["\(name).c": Array(source.utf8), "\(name)_kernels.o": library.object, "\(name)_peak.o": peak]
    }
}
