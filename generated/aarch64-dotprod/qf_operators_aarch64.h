/* qf_operators_aarch64.h: int8 matmul kernels generated ahead of time by QuantForge 0.7.3 (LLVM 14) (`qforge aot`).
 * Generated file: do not edit; regenerate it instead.
 *
 * Target: aarch64-unknown-linux-gnu, cpu generic, features "+neon,+dotprod".
 * Each kernel computes C[M,N] = A[M,K] · B[K,N] with ONNX semantics (MatMulInteger, or QLinearMatMul
 * with a float32 multiplier, round half to even and saturation), bit-exact with QuantForge's
 * reference interpreter. Link qf_operators_aarch64.o; no LLVM and no Swift runtime are needed.
 *
 * Use: pack B once with NAME_pack(b, ldb, packed) into a 64-byte aligned buffer of
 * NAME_PACKED_BYTES bytes, then call NAME_run(a, lda, packed, c, ldc, m) (or NAME(&args) to
 * compute a sub-range of rows and column panels, e.g. one per thread). Strides are in elements.
 */
#ifndef QF_OPERATORS_AARCH64_H
#define QF_OPERATORS_AARCH64_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef QF_MATMUL_ARGS_DEFINED
#define QF_MATMUL_ARGS_DEFINED
/* The argument of every kernel: rows [row_begin, row_end) and B panels [panel_begin, panel_end). */
typedef struct qf_matmul_args {
    const void *a;        /* A: M x K, row stride lda elements */
    int64_t lda;
    const void *packed_b; /* B packed by NAME_pack, 64-byte aligned */
    void *c;              /* C: M x N, row stride ldc elements */
    int64_t ldc;
    int64_t row_begin;
    int64_t row_end;
    int64_t panel_begin;
    int64_t panel_end;
} qf_matmul_args;
#endif

/* Every kernel of this library, for programs that look kernels up by name. */
typedef struct qf_operators_aarch64_kernel_info {
    const char *name;
    void (*run)(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m);
    void (*pack)(const void *b, int64_t ldb, void *packed);
    int64_t m; /* 0: M is given per call */
    int64_t k, n, packed_bytes, c_element_bytes;
} qf_operators_aarch64_kernel_info;

static const qf_operators_aarch64_kernel_info qf_operators_aarch64_kernels[] = {
};
#define QF_OPERATORS_AARCH64_KERNEL_COUNT 0

#ifdef __cplusplus
}
#endif

/* The library's other operators (convolutions, dynamic linears, elementwise operators). */
#include "qf_operators_aarch64_operators.h"
#endif
