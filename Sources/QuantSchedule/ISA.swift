import QuantOps

/// An instruction-set path QuantForge can generate kernels for. The raw values are the names used
/// by `QFORGE_ISA`, `--isa` and the tuning database.
public enum ISA: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// LLVM vector types only: correct on any CPU.
    case portable
    /// AVX2 exact widening multiply-add (vpmovzxbw/vpmovsxbw + vpmaddwd).
    case avx2
    /// AVX-VNNI: vpdpbusd on ymm.
    case avxvnni
    /// AVX-512 VNNI: vpdpbusd on zmm.
    case avx512vnni
    /// AMX-INT8 tiles: tdpbusd / tdpbssd.
    case amx
    /// AArch64 NEON dot product: sdot / udot.
    case neondot
    /// AArch64 int8 matrix multiply: smmla / ummla.
    case i8mm

    public var description: String { rawValue }

    /// Every ISA, best first: the order in which the engine picks one for a host, AOT picks one
    /// for a target, and `qforge info` lists them (the one place this ranking is written).
    public static let preferenceOrder: [ISA] = [.amx, .avx512vnni, .avxvnni, .avx2, .i8mm, .neondot, .portable]

    /// The target architecture (the triple's first component) this ISA belongs to; nil for the
    /// portable path, which runs anywhere.
    public var architecture: String? {
        switch self {
        case .portable: nil
        case .avx2, .avxvnni, .avx512vnni, .amx: "x86_64"
        case .neondot, .i8mm: "aarch64"
        }
    }

    /// Parses a user-facing name (`QFORGE_ISA`, `--isa`), with a clear error for unknown names.
    public static func parse(_ name: String) throws(QuantError) -> ISA {
        guard let isa = ISA(rawValue: name.lowercased()) else {
            throw .unsupportedISA(requested: name,
                                  reason: "unknown name; known: \(ISA.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return isa
    }
}
