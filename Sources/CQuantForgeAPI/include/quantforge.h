/* quantforge.h: the C API of QuantForge (libquantforge).
 *
 * Describe a quantized matmul C[M,N] = A[M,K] · B[K,N] (ONNX MatMulInteger / QLinearMatMul
 * semantics), JIT-compile it for this CPU, pack the constant weights B once, run it many times.
 *
 *   qf_context *ctx;   qf_context_create(NULL, 1, &ctx);        // best ISA, one thread
 *   qf_matmul_desc d;  qf_matmul_desc_init(&d, 0, 768, 768);     // M given per call
 *   d.output = QF_OUTPUT_REQUANTIZED; d.y_scale = 0.05f; ...
 *   qf_kernel *kernel; qf_kernel_compile(ctx, &d, &kernel);
 *   qf_weights *w;     qf_kernel_pack(kernel, b, 768, &w);
 *   qf_kernel_run(kernel, a, 768, a_bytes, w, c, 768, c_bytes, 16);
 *   qf_weights_destroy(w); qf_kernel_destroy(kernel); qf_context_destroy(ctx);
 *
 * Every function that can fail returns a qf_status; on failure qf_last_error() returns a message
 * for the calling thread (valid until its next failing call). No call aborts the process on bad
 * input. Contexts, kernels and weights may be used from several threads at once.
 *
 * Handles: the library keeps every live handle with its kind, so a destroyed handle, a handle of
 * another kind (a context passed as a kernel) or a pointer that never was a handle is refused with
 * QF_STATUS_INVALID_ARGUMENT before it is touched; the *_destroy functions ignore such a pointer
 * (and say so in qf_last_error). A destroyed handle's address may be reused by a later handle of
 * the same kind, which the library cannot tell apart: do not use a handle after destroying it.
 * Sizes and strides whose extent overflows, scales that are zero, negative, subnormal, infinite or
 * NaN, and thread counts above 4 per processor (at most 256) are QF_STATUS_INVALID_ARGUMENT.
 */
#ifndef QUANTFORGE_H
#define QUANTFORGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum qf_status {
    QF_STATUS_OK = 0,
    QF_STATUS_INVALID_ARGUMENT = 1,  /* null pointer, bad enum, inconsistent shapes or quantization */
    QF_STATUS_UNSUPPORTED_ISA = 2,   /* the CPU (or this build) cannot run the requested ISA */
    QF_STATUS_BUFFER_TOO_SMALL = 3,
    QF_STATUS_WEIGHTS_MISMATCH = 4,  /* weights packed for another kernel */
    QF_STATUS_COMPILATION_FAILED = 5,
    QF_STATUS_INTERNAL_ERROR = 6
} qf_status;

typedef enum qf_type { QF_TYPE_U8 = 0, QF_TYPE_S8 = 1, QF_TYPE_S32 = 2, QF_TYPE_F32 = 3 } qf_type;

typedef enum qf_output_mode {
    QF_OUTPUT_INT32 = 0,        /* int32 accumulators (MatMulInteger) */
    QF_OUTPUT_REQUANTIZED = 1,  /* u8/s8 (QLinearMatMul), optional int32 bias */
    QF_OUTPUT_DEQUANTIZED = 2   /* f32 = acc * a_scale * b_scale[n] + bias[n], optional f32 bias */
} qf_output_mode;

typedef enum qf_activation { QF_ACTIVATION_NONE = 0, QF_ACTIVATION_RELU = 1, QF_ACTIVATION_CLAMP = 2 } qf_activation;

/* A quantized matmul. Fill it with qf_matmul_desc_init, then set what differs. */
typedef struct qf_matmul_desc {
    int64_t m;                    /* rows of A and C; 0 = given per call */
    int64_t k, n;
    qf_type a_type, b_type;       /* QF_TYPE_U8 or QF_TYPE_S8 */
    float a_scale;
    int32_t a_zero_point;
    int64_t b_channels;           /* 1 (per-tensor) or n (per output column) */
    const float *b_scales;        /* b_channels entries; NULL only with b_channels = 1 (scale 1) */
    const int32_t *b_zero_points; /* b_channels entries, or NULL for all zero */
    qf_output_mode output;
    qf_type output_type;          /* QF_OUTPUT_REQUANTIZED: QF_TYPE_U8 or QF_TYPE_S8 */
    float y_scale;
    int32_t y_zero_point;
    const void *bias;             /* n int32 (requantized) or n float (dequantized), or NULL;
                                     QF_OUTPUT_INT32 takes neither bias nor activation */
    qf_activation activation;
    float clamp_min, clamp_max;   /* QF_ACTIVATION_CLAMP, in the real (dequantized) domain */
} qf_matmul_desc;

typedef struct qf_context qf_context;
typedef struct qf_kernel qf_kernel;
typedef struct qf_weights qf_weights;

/* The message of the calling thread's last failed call ("" if none). */
const char *qf_last_error(void);

/* Defaults: u8 A, s8 B, scales 1, zero points 0, int32 output, per-tensor weights. */
void qf_matmul_desc_init(qf_matmul_desc *desc, int64_t m, int64_t k, int64_t n);

/* isa: NULL for the best this CPU supports, else "portable", "avx2", "avxvnni", "avx512vnni", ...
 * threads: how many threads each kernel call may use (1: the calling thread only).
 * Kernels use the tuned schedules of the tuning database when one exists ($QFORGE_TUNING_DB, else
 * ~/.cache/quantforge/tuning.sqlite; see `qforge autotune`), else the default heuristic. The
 * database is opened read-only: nothing is created or changed. A file named by $QFORGE_TUNING_DB
 * that is not a QuantForge tuning database is QF_STATUS_INVALID_ARGUMENT (and left as it is). */
qf_status qf_context_create(const char *isa, int32_t threads, qf_context **context);
void qf_context_destroy(qf_context *context);
/* The context's instruction set, e.g. "avx512vnni" (owned by the context). */
const char *qf_context_isa(const qf_context *context);

qf_status qf_kernel_compile(qf_context *context, const qf_matmul_desc *desc, qf_kernel **kernel);
void qf_kernel_destroy(qf_kernel *kernel);

/* Packs B (K x N, row stride ldb elements) for this kernel. */
qf_status qf_kernel_pack(const qf_kernel *kernel, const void *b, int64_t ldb, qf_weights **weights);
int64_t qf_weights_bytes(const qf_weights *weights);
void qf_weights_destroy(qf_weights *weights);

/* C = A · B for m rows (ignored when the kernel was compiled for a fixed M: pass it or 0).
 * a_bytes / c_bytes are the buffers' sizes; strides are in elements. */
qf_status qf_kernel_run(const qf_kernel *kernel, const void *a, int64_t lda, size_t a_bytes, const qf_weights *weights,
                        void *c, int64_t ldc, size_t c_bytes, int64_t m);

#ifdef __cplusplus
}
#endif

#endif
