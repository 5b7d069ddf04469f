/// Named AOT targets (`qforge aot --target NAME`). Feature strings list what the instruction table
/// checks, so the refusal before codegen works for them; `host` is this machine.
public enum TargetPreset: String, Sendable, CaseIterable {
    case host
    /// x86-64-v4 (AVX-512) with AVX-512 VNNI.
    case x86_64_v4_vnni = "x86-64-v4-vnni"
    /// Sapphire Rapids and later: x86-64-v4, AVX-512 VNNI and AMX-INT8 (AMX kernels).
    case x86_64_amx = "x86-64-amx"
    /// x86-64-v3: AVX2, FMA, BMI2 — no VNNI, no AVX-512.
    case x86_64_v3 = "x86-64-v3"
    /// x86-64 with every variant's features, for `--multi-isa` libraries.
    case x86_64_multi = "x86-64-multi"
    case aarch64_dotprod = "aarch64-dotprod"
    case aarch64_i8mm = "aarch64-i8mm"
    /// AArch64 with dotprod and i8mm, for `--multi-isa` libraries.
    case aarch64_multi = "aarch64-multi"

    public var target: CodegenTarget {
        let x86 = "x86_64-unknown-linux-gnu", arm = "aarch64-unknown-linux-gnu"
        let v3 = "+avx,+avx2,+fma,+bmi,+bmi2,+lzcnt,+movbe,+f16c,+popcnt,+sse4.2"
        let v4 = v3 + ",+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512cd"
        switch self {
        case .host: return .host
        case .x86_64_v4_vnni: return CodegenTarget(triple: x86, cpu: "x86-64-v4", features: v4 + ",+avx512vnni")
        case .x86_64_amx: return CodegenTarget(triple: x86, cpu: "sapphirerapids", features: v4 + ",+avx512vnni,+amx-tile,+amx-int8")
        case .x86_64_v3: return CodegenTarget(triple: x86, cpu: "x86-64-v3", features: v3)
        case .x86_64_multi: return CodegenTarget(triple: x86, cpu: "x86-64", features: v4 + ",+avx512vnni,+avxvnni,+amx-tile,+amx-int8")
        case .aarch64_dotprod: return CodegenTarget(triple: arm, cpu: "generic", features: "+neon,+dotprod")
        case .aarch64_i8mm: return CodegenTarget(triple: arm, cpu: "generic", features: "+neon,+dotprod,+i8mm")
        case .aarch64_multi: return CodegenTarget(triple: arm, cpu: "generic", features: "+neon,+dotprod,+i8mm")
        }
    }
}
