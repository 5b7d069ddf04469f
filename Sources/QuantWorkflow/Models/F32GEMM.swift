import Foundation
import QuantForge

/// Single-precision GEMM for the f32 baseline: OpenBLAS (Debian's `libopenblas-dev`), loaded at run
/// time with one thread; QuantForge's own loop when OpenBLAS is absent (correct, slow: `backend`
/// says which). OpenBLAS 0.3.21 takes AMD Zen 5 for Haswell and runs AVX2 kernels at half the
/// AVX-512 FMA peak; it honours `OPENBLAS_CORETYPE` only when the variable is in the environment
/// the process started with, so `qforge minilm` re-executes itself once with
/// `OPENBLAS_CORETYPE=<preferredCoreType>` (library users set it themselves).
public final class F32GEMM: @unchecked Sendable {
    public static let shared = F32GEMM()

    /// What runs: "OpenBLAS (SkylakeX)" or the fallback.
    public let backend: String
    public var isAccelerated: Bool { sgemm != nil }

    typealias Sgemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    private let sgemm: Sgemm?

    /// The OpenBLAS kernel type for this CPU's widest FMA vectors (nil: let OpenBLAS decide).
    public static var preferredCoreType: String? {
        let host = HostCPU.current
        return host.supports(.avx512vnni) ? "SkylakeX" : (host.supports(.avx2) ? "Haswell" : nil)
    }

    private init() {
        setenv("OPENBLAS_NUM_THREADS", "1", 0)
        guard let library = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL) ?? dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL),
              let symbol = dlsym(library, "cblas_sgemm") else {
            sgemm = nil
            backend = "QuantForge scalar loop (OpenBLAS not found: apt-get install libopenblas-dev)"
            return
        }
        sgemm = unsafeBitCast(symbol, to: Sgemm.self)
        if let setThreads = dlsym(library, "openblas_set_num_threads") {
            unsafeBitCast(setThreads, to: (@convention(c) (Int32) -> Void).self)(1)
        }
        var name = "?"
        if let coreName = dlsym(library, "openblas_get_corename"),
           let text = unsafeBitCast(coreName, to: (@convention(c) () -> UnsafePointer<CChar>?).self)() {
            name = String(cString: text)
        }
        backend = "OpenBLAS (\(name), 1 thread)"
    }

    /// `C[m×n] = alpha · A[m×k] · op(B) + beta · C`, row-major, op(B) = B (k×n) or Bᵀ (B n×k).
    public func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                         transposeB: Bool, c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0) {
        if let sgemm {
            sgemm(101, 111, transposeB ? 112 : 111, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            return
        }
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += a[i * lda + p] * (transposeB ? b[j * ldb + p] : b[p * ldb + j]) }
                c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }
}
