/* qf_transformer_x86_64_v4.h: int8 matmul kernels generated ahead of time by QuantForge 0.7.3 (LLVM 14) (`qforge aot`).
 * Generated file: do not edit; regenerate it instead.
 *
 * Target: x86_64-unknown-linux-gnu, cpu x86-64-v4, features "+avx,+avx2,+fma,+bmi,+bmi2,+lzcnt,+movbe,+f16c,+popcnt,+sse4.2,+avx512f,+avx512bw,+avx512vl,+avx512dq,+avx512cd,+avx512vnni".
 * Each kernel computes C[M,N] = A[M,K] · B[K,N] with ONNX semantics (MatMulInteger, or QLinearMatMul
 * with a float32 multiplier, round half to even and saturation), bit-exact with QuantForge's
 * reference interpreter. Link qf_transformer_x86_64_v4.o; no LLVM and no Swift runtime are needed.
 *
 * Use: pack B once with NAME_pack(b, ldb, packed) into a 64-byte aligned buffer of
 * NAME_PACKED_BYTES bytes, then call NAME_run(a, lda, packed, c, ldc, m) (or NAME(&args) to
 * compute a sub-range of rows and column panels, e.g. one per thread). Strides are in elements.
 */
#ifndef QF_TRANSFORMER_X86_64_V4_H
#define QF_TRANSFORMER_X86_64_V4_H

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

/* qlinear_m1_k384_n384: u8 A[M x 384] · s8 B[384 x 384] -> u8 C[M x 384]
 *   M: fixed at 1 (pass m = 1)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (384, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr1 nv4 ku4 mc682 nc21 panelsOuter
 *   packed B: 148992 bytes: K=384 N=384 groups of 4×64 columns, 6 panels, 148992 bytes
 */
#define QLINEAR_M1_K384_N384_K 384
#define QLINEAR_M1_K384_N384_N 384
#define QLINEAR_M1_K384_N384_PANELS 6
#define QLINEAR_M1_K384_N384_PACKED_BYTES 148992
void qlinear_m1_k384_n384(const qf_matmul_args *args);
void qlinear_m1_k384_n384_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m1_k384_n384_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M1_K384_N384_PANELS};
    qlinear_m1_k384_n384(&args);
}

/* qlinear_m1_k384_n1536: u8 A[M x 384] · s8 B[384 x 1536] -> u8 C[M x 1536]
 *   M: fixed at 1 (pass m = 1)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (1536, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr1 nv4 ku4 mc682 nc21 panelsOuter
 *   packed B: 595968 bytes: K=384 N=1536 groups of 4×64 columns, 24 panels, 595968 bytes
 */
#define QLINEAR_M1_K384_N1536_K 384
#define QLINEAR_M1_K384_N1536_N 1536
#define QLINEAR_M1_K384_N1536_PANELS 24
#define QLINEAR_M1_K384_N1536_PACKED_BYTES 595968
void qlinear_m1_k384_n1536(const qf_matmul_args *args);
void qlinear_m1_k384_n1536_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m1_k384_n1536_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M1_K384_N1536_PANELS};
    qlinear_m1_k384_n1536(&args);
}

/* qlinear_m1_k1536_n384: u8 A[M x 1536] · s8 B[1536 x 384] -> u8 C[M x 384]
 *   M: fixed at 1 (pass m = 1)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (384, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr1 nv4 ku4 mc170 nc5 panelsOuter
 *   packed B: 591360 bytes: K=1536 N=384 groups of 4×64 columns, 6 panels, 591360 bytes
 */
#define QLINEAR_M1_K1536_N384_K 1536
#define QLINEAR_M1_K1536_N384_N 384
#define QLINEAR_M1_K1536_N384_PANELS 6
#define QLINEAR_M1_K1536_N384_PACKED_BYTES 591360
void qlinear_m1_k1536_n384(const qf_matmul_args *args);
void qlinear_m1_k1536_n384_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m1_k1536_n384_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M1_K1536_N384_PANELS};
    qlinear_m1_k1536_n384(&args);
}

/* qlinear_m1_k768_n768: u8 A[M x 768] · s8 B[768 x 768] -> u8 C[M x 768]
 *   M: fixed at 1 (pass m = 1)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (768, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr1 nv4 ku4 mc341 nc10 panelsOuter
 *   packed B: 592896 bytes: K=768 N=768 groups of 4×64 columns, 12 panels, 592896 bytes
 */
#define QLINEAR_M1_K768_N768_K 768
#define QLINEAR_M1_K768_N768_N 768
#define QLINEAR_M1_K768_N768_PANELS 12
#define QLINEAR_M1_K768_N768_PACKED_BYTES 592896
void qlinear_m1_k768_n768(const qf_matmul_args *args);
void qlinear_m1_k768_n768_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m1_k768_n768_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M1_K768_N768_PANELS};
    qlinear_m1_k768_n768(&args);
}

/* qlinear_m1_k768_n3072: u8 A[M x 768] · s8 B[768 x 3072] -> u8 C[M x 3072]
 *   M: fixed at 1 (pass m = 1)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (3072, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr1 nv4 ku4 mc341 nc10 panelsOuter
 *   packed B: 2371584 bytes: K=768 N=3072 groups of 4×64 columns, 48 panels, 2371584 bytes
 */
#define QLINEAR_M1_K768_N3072_K 768
#define QLINEAR_M1_K768_N3072_N 3072
#define QLINEAR_M1_K768_N3072_PANELS 48
#define QLINEAR_M1_K768_N3072_PACKED_BYTES 2371584
void qlinear_m1_k768_n3072(const qf_matmul_args *args);
void qlinear_m1_k768_n3072_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m1_k768_n3072_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M1_K768_N3072_PANELS};
    qlinear_m1_k768_n3072(&args);
}

/* qlinear_m1_k3072_n768: u8 A[M x 3072] · s8 B[3072 x 768] -> u8 C[M x 768]
 *   M: fixed at 1 (pass m = 1)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (768, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr1 nv4 ku4 mc85 nc2 panelsOuter
 *   packed B: 2362368 bytes: K=3072 N=768 groups of 4×64 columns, 12 panels, 2362368 bytes
 */
#define QLINEAR_M1_K3072_N768_K 3072
#define QLINEAR_M1_K3072_N768_N 768
#define QLINEAR_M1_K3072_N768_PANELS 12
#define QLINEAR_M1_K3072_N768_PACKED_BYTES 2362368
void qlinear_m1_k3072_n768(const qf_matmul_args *args);
void qlinear_m1_k3072_n768_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m1_k3072_n768_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M1_K3072_N768_PANELS};
    qlinear_m1_k3072_n768(&args);
}

/* qlinear_m16_k384_n384: u8 A[M x 384] · s8 B[384 x 384] -> u8 C[M x 384]
 *   M: fixed at 16 (pass m = 16)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (384, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr4 nv4 ku4 mc680 nc21 panelsOuter
 *   packed B: 148992 bytes: K=384 N=384 groups of 4×64 columns, 6 panels, 148992 bytes
 */
#define QLINEAR_M16_K384_N384_K 384
#define QLINEAR_M16_K384_N384_N 384
#define QLINEAR_M16_K384_N384_PANELS 6
#define QLINEAR_M16_K384_N384_PACKED_BYTES 148992
void qlinear_m16_k384_n384(const qf_matmul_args *args);
void qlinear_m16_k384_n384_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m16_k384_n384_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M16_K384_N384_PANELS};
    qlinear_m16_k384_n384(&args);
}

/* qlinear_m16_k384_n1536: u8 A[M x 384] · s8 B[384 x 1536] -> u8 C[M x 1536]
 *   M: fixed at 16 (pass m = 16)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (1536, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr4 nv4 ku4 mc680 nc21 panelsOuter
 *   packed B: 595968 bytes: K=384 N=1536 groups of 4×64 columns, 24 panels, 595968 bytes
 */
#define QLINEAR_M16_K384_N1536_K 384
#define QLINEAR_M16_K384_N1536_N 1536
#define QLINEAR_M16_K384_N1536_PANELS 24
#define QLINEAR_M16_K384_N1536_PACKED_BYTES 595968
void qlinear_m16_k384_n1536(const qf_matmul_args *args);
void qlinear_m16_k384_n1536_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m16_k384_n1536_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M16_K384_N1536_PANELS};
    qlinear_m16_k384_n1536(&args);
}

/* qlinear_m16_k1536_n384: u8 A[M x 1536] · s8 B[1536 x 384] -> u8 C[M x 384]
 *   M: fixed at 16 (pass m = 16)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (384, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr4 nv4 ku4 mc168 nc5 panelsOuter
 *   packed B: 591360 bytes: K=1536 N=384 groups of 4×64 columns, 6 panels, 591360 bytes
 */
#define QLINEAR_M16_K1536_N384_K 1536
#define QLINEAR_M16_K1536_N384_N 384
#define QLINEAR_M16_K1536_N384_PANELS 6
#define QLINEAR_M16_K1536_N384_PACKED_BYTES 591360
void qlinear_m16_k1536_n384(const qf_matmul_args *args);
void qlinear_m16_k1536_n384_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m16_k1536_n384_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M16_K1536_N384_PANELS};
    qlinear_m16_k1536_n384(&args);
}

/* qlinear_m16_k768_n768: u8 A[M x 768] · s8 B[768 x 768] -> u8 C[M x 768]
 *   M: fixed at 16 (pass m = 16)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (768, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr4 nv4 ku4 mc340 nc10 panelsOuter
 *   packed B: 592896 bytes: K=768 N=768 groups of 4×64 columns, 12 panels, 592896 bytes
 */
#define QLINEAR_M16_K768_N768_K 768
#define QLINEAR_M16_K768_N768_N 768
#define QLINEAR_M16_K768_N768_PANELS 12
#define QLINEAR_M16_K768_N768_PACKED_BYTES 592896
void qlinear_m16_k768_n768(const qf_matmul_args *args);
void qlinear_m16_k768_n768_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m16_k768_n768_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M16_K768_N768_PANELS};
    qlinear_m16_k768_n768(&args);
}

/* qlinear_m16_k768_n3072: u8 A[M x 768] · s8 B[768 x 3072] -> u8 C[M x 3072]
 *   M: fixed at 16 (pass m = 16)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (3072, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr4 nv4 ku4 mc340 nc10 panelsOuter
 *   packed B: 2371584 bytes: K=768 N=3072 groups of 4×64 columns, 48 panels, 2371584 bytes
 */
#define QLINEAR_M16_K768_N3072_K 768
#define QLINEAR_M16_K768_N3072_N 3072
#define QLINEAR_M16_K768_N3072_PANELS 48
#define QLINEAR_M16_K768_N3072_PACKED_BYTES 2371584
void qlinear_m16_k768_n3072(const qf_matmul_args *args);
void qlinear_m16_k768_n3072_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m16_k768_n3072_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M16_K768_N3072_PANELS};
    qlinear_m16_k768_n3072(&args);
}

/* qlinear_m16_k3072_n768: u8 A[M x 3072] · s8 B[3072 x 768] -> u8 C[M x 768]
 *   M: fixed at 16 (pass m = 16)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (768, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr4 nv4 ku4 mc84 nc2 panelsOuter
 *   packed B: 2362368 bytes: K=3072 N=768 groups of 4×64 columns, 12 panels, 2362368 bytes
 */
#define QLINEAR_M16_K3072_N768_K 3072
#define QLINEAR_M16_K3072_N768_N 768
#define QLINEAR_M16_K3072_N768_PANELS 12
#define QLINEAR_M16_K3072_N768_PACKED_BYTES 2362368
void qlinear_m16_k3072_n768(const qf_matmul_args *args);
void qlinear_m16_k3072_n768_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m16_k3072_n768_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M16_K3072_N768_PANELS};
    qlinear_m16_k3072_n768(&args);
}

/* qlinear_m128_k384_n384: u8 A[M x 384] · s8 B[384 x 384] -> u8 C[M x 384]
 *   M: fixed at 128 (pass m = 128)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (384, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr6 nv4 ku4 mc678 nc21 panelsOuter
 *   packed B: 148992 bytes: K=384 N=384 groups of 4×64 columns, 6 panels, 148992 bytes
 */
#define QLINEAR_M128_K384_N384_K 384
#define QLINEAR_M128_K384_N384_N 384
#define QLINEAR_M128_K384_N384_PANELS 6
#define QLINEAR_M128_K384_N384_PACKED_BYTES 148992
void qlinear_m128_k384_n384(const qf_matmul_args *args);
void qlinear_m128_k384_n384_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m128_k384_n384_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M128_K384_N384_PANELS};
    qlinear_m128_k384_n384(&args);
}

/* qlinear_m128_k384_n1536: u8 A[M x 384] · s8 B[384 x 1536] -> u8 C[M x 1536]
 *   M: fixed at 128 (pass m = 128)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (1536, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr6 nv4 ku4 mc678 nc21 panelsOuter
 *   packed B: 595968 bytes: K=384 N=1536 groups of 4×64 columns, 24 panels, 595968 bytes
 */
#define QLINEAR_M128_K384_N1536_K 384
#define QLINEAR_M128_K384_N1536_N 1536
#define QLINEAR_M128_K384_N1536_PANELS 24
#define QLINEAR_M128_K384_N1536_PACKED_BYTES 595968
void qlinear_m128_k384_n1536(const qf_matmul_args *args);
void qlinear_m128_k384_n1536_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m128_k384_n1536_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M128_K384_N1536_PANELS};
    qlinear_m128_k384_n1536(&args);
}

/* qlinear_m128_k1536_n384: u8 A[M x 1536] · s8 B[1536 x 384] -> u8 C[M x 384]
 *   M: fixed at 128 (pass m = 128)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (384, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr6 nv4 ku4 mc168 nc5 panelsOuter
 *   packed B: 591360 bytes: K=1536 N=384 groups of 4×64 columns, 6 panels, 591360 bytes
 */
#define QLINEAR_M128_K1536_N384_K 1536
#define QLINEAR_M128_K1536_N384_N 384
#define QLINEAR_M128_K1536_N384_PANELS 6
#define QLINEAR_M128_K1536_N384_PACKED_BYTES 591360
void qlinear_m128_k1536_n384(const qf_matmul_args *args);
void qlinear_m128_k1536_n384_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m128_k1536_n384_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M128_K1536_N384_PANELS};
    qlinear_m128_k1536_n384(&args);
}

/* qlinear_m128_k768_n768: u8 A[M x 768] · s8 B[768 x 768] -> u8 C[M x 768]
 *   M: fixed at 128 (pass m = 128)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (768, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr6 nv4 ku4 mc336 nc10 panelsOuter
 *   packed B: 592896 bytes: K=768 N=768 groups of 4×64 columns, 12 panels, 592896 bytes
 */
#define QLINEAR_M128_K768_N768_K 768
#define QLINEAR_M128_K768_N768_N 768
#define QLINEAR_M128_K768_N768_PANELS 12
#define QLINEAR_M128_K768_N768_PACKED_BYTES 592896
void qlinear_m128_k768_n768(const qf_matmul_args *args);
void qlinear_m128_k768_n768_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m128_k768_n768_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M128_K768_N768_PANELS};
    qlinear_m128_k768_n768(&args);
}

/* qlinear_m128_k768_n3072: u8 A[M x 768] · s8 B[768 x 3072] -> u8 C[M x 3072]
 *   M: fixed at 128 (pass m = 128)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (3072, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr6 nv4 ku4 mc336 nc10 panelsOuter
 *   packed B: 2371584 bytes: K=768 N=3072 groups of 4×64 columns, 48 panels, 2371584 bytes
 */
#define QLINEAR_M128_K768_N3072_K 768
#define QLINEAR_M128_K768_N3072_N 3072
#define QLINEAR_M128_K768_N3072_PANELS 48
#define QLINEAR_M128_K768_N3072_PACKED_BYTES 2371584
void qlinear_m128_k768_n3072(const qf_matmul_args *args);
void qlinear_m128_k768_n3072_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m128_k768_n3072_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M128_K768_N3072_PANELS};
    qlinear_m128_k768_n3072(&args);
}

/* qlinear_m128_k3072_n768: u8 A[M x 3072] · s8 B[3072 x 768] -> u8 C[M x 768]
 *   M: fixed at 128 (pass m = 128)
 *   A: scale 0.02, zero point 128
 *   B: per-column scales (768, 0.001…0.0016000001), zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.5, zero point 128, no activation
 *   ISA: avx512vnni (vpdpbusd zmm); schedule: avx512vnni mr6 nv4 ku4 mc84 nc2 panelsOuter
 *   packed B: 2362368 bytes: K=3072 N=768 groups of 4×64 columns, 12 panels, 2362368 bytes
 */
#define QLINEAR_M128_K3072_N768_K 3072
#define QLINEAR_M128_K3072_N768_N 768
#define QLINEAR_M128_K3072_N768_PANELS 12
#define QLINEAR_M128_K3072_N768_PACKED_BYTES 2362368
void qlinear_m128_k3072_n768(const qf_matmul_args *args);
void qlinear_m128_k3072_n768_pack(const void *b, int64_t ldb, void *packed);
static inline void qlinear_m128_k3072_n768_run(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m) {
    qf_matmul_args args = {a, lda, packed, c, ldc, 0, m, 0, QLINEAR_M128_K3072_N768_PANELS};
    qlinear_m128_k3072_n768(&args);
}

/* Every kernel of this library, for programs that look kernels up by name. */
typedef struct qf_transformer_x86_64_v4_kernel_info {
    const char *name;
    void (*run)(const void *a, int64_t lda, const void *packed, void *c, int64_t ldc, int64_t m);
    void (*pack)(const void *b, int64_t ldb, void *packed);
    int64_t m; /* 0: M is given per call */
    int64_t k, n, packed_bytes, c_element_bytes;
} qf_transformer_x86_64_v4_kernel_info;

static const qf_transformer_x86_64_v4_kernel_info qf_transformer_x86_64_v4_kernels[] = {
    {"qlinear_m1_k384_n384", qlinear_m1_k384_n384_run, qlinear_m1_k384_n384_pack, 1, 384, 384, 148992, 1},
    {"qlinear_m1_k384_n1536", qlinear_m1_k384_n1536_run, qlinear_m1_k384_n1536_pack, 1, 384, 1536, 595968, 1},
    {"qlinear_m1_k1536_n384", qlinear_m1_k1536_n384_run, qlinear_m1_k1536_n384_pack, 1, 1536, 384, 591360, 1},
    {"qlinear_m1_k768_n768", qlinear_m1_k768_n768_run, qlinear_m1_k768_n768_pack, 1, 768, 768, 592896, 1},
    {"qlinear_m1_k768_n3072", qlinear_m1_k768_n3072_run, qlinear_m1_k768_n3072_pack, 1, 768, 3072, 2371584, 1},
    {"qlinear_m1_k3072_n768", qlinear_m1_k3072_n768_run, qlinear_m1_k3072_n768_pack, 1, 3072, 768, 2362368, 1},
    {"qlinear_m16_k384_n384", qlinear_m16_k384_n384_run, qlinear_m16_k384_n384_pack, 16, 384, 384, 148992, 1},
    {"qlinear_m16_k384_n1536", qlinear_m16_k384_n1536_run, qlinear_m16_k384_n1536_pack, 16, 384, 1536, 595968, 1},
    {"qlinear_m16_k1536_n384", qlinear_m16_k1536_n384_run, qlinear_m16_k1536_n384_pack, 16, 1536, 384, 591360, 1},
    {"qlinear_m16_k768_n768", qlinear_m16_k768_n768_run, qlinear_m16_k768_n768_pack, 16, 768, 768, 592896, 1},
    {"qlinear_m16_k768_n3072", qlinear_m16_k768_n3072_run, qlinear_m16_k768_n3072_pack, 16, 768, 3072, 2371584, 1},
    {"qlinear_m16_k3072_n768", qlinear_m16_k3072_n768_run, qlinear_m16_k3072_n768_pack, 16, 3072, 768, 2362368, 1},
    {"qlinear_m128_k384_n384", qlinear_m128_k384_n384_run, qlinear_m128_k384_n384_pack, 128, 384, 384, 148992, 1},
    {"qlinear_m128_k384_n1536", qlinear_m128_k384_n1536_run, qlinear_m128_k384_n1536_pack, 128, 384, 1536, 595968, 1},
    {"qlinear_m128_k1536_n384", qlinear_m128_k1536_n384_run, qlinear_m128_k1536_n384_pack, 128, 1536, 384, 591360, 1},
    {"qlinear_m128_k768_n768", qlinear_m128_k768_n768_run, qlinear_m128_k768_n768_pack, 128, 768, 768, 592896, 1},
    {"qlinear_m128_k768_n3072", qlinear_m128_k768_n3072_run, qlinear_m128_k768_n3072_pack, 128, 768, 3072, 2371584, 1},
    {"qlinear_m128_k3072_n768", qlinear_m128_k3072_n768_run, qlinear_m128_k3072_n768_pack, 128, 3072, 768, 2362368, 1},
};
#define QF_TRANSFORMER_X86_64_V4_KERNEL_COUNT 18

#ifdef __cplusplus
}
#endif

#endif
