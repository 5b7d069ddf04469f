/* quantforge.h: the C API of QuantForge (libquantforge).
 *
 * Every operator has the same life cycle: describe it, JIT-compile it for this CPU (a qf_kernel),
 * pack its constant weights once (matmuls, dynamic linears, convolutions), run it many times,
 * destroy what you created. The operators: quantized matmuls C[M,N] = A[M,K] · B[K,N] (ONNX
 * MatMulInteger / QLinearMatMul, dequantized f32, epilogue chains) and the dynamic quantized linear
 * (f32 A quantized per call, per tensor or per row); 2-D convolutions (ConvInteger / QLinearConv,
 * grouped and depthwise, NHWC and NCHW); QuantizeLinear / DequantizeLinear; DynamicQuantizeLinear;
 * QLinearAdd / QLinearMul; lookup activations. Semantics are ONNX's (ONNX Runtime's for the
 * com.microsoft operators); all buffers are dense row-major unless a stride is given.
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

typedef enum qf_type {
    QF_TYPE_U8 = 0, QF_TYPE_S8 = 1, QF_TYPE_S32 = 2, QF_TYPE_F32 = 3,
    QF_TYPE_U16 = 4, QF_TYPE_S16 = 5   /* QuantizeLinear / DequantizeLinear only */
} qf_type;

typedef enum qf_output_mode {
    QF_OUTPUT_INT32 = 0,        /* int32 accumulators (MatMulInteger, ConvInteger) */
    QF_OUTPUT_REQUANTIZED = 1,  /* u8/s8 (QLinearMatMul, QLinearConv), optional int32 bias */
    QF_OUTPUT_DEQUANTIZED = 2,  /* f32 = acc * a_scale * b_scale[n] + bias[n], optional f32 bias */
    QF_OUTPUT_CHAIN = 3         /* f32 v = acc * a_scale * b_scale[n], then steps[0..step_count) in
                                   order, then requantized to output_type (u8/s8, y_scale, y_zero_point)
                                   or stored as f32 (output_type QF_TYPE_F32); bias and activation unused */
} qf_output_mode;

/* Activations in the real domain. NONE, RELU and CLAMP work in every output mode; GELU, SIGMOID and
 * TANH (QuantForge's approximations, the same in the reference and the kernels) need
 * QF_OUTPUT_CHAIN or a lookup kernel. */
typedef enum qf_activation {
    QF_ACTIVATION_NONE = 0, QF_ACTIVATION_RELU = 1, QF_ACTIVATION_CLAMP = 2,
    QF_ACTIVATION_GELU = 3, QF_ACTIVATION_SIGMOID = 4, QF_ACTIVATION_TANH = 5
} qf_activation;

/* Where A's scale and zero point come from. The dynamic modes take f32 A (a_type QF_TYPE_F32): each
 * call computes DynamicQuantizeLinear's u8 parameters for the whole of A or for each row (per
 * token), quantizes A while packing it and multiplies (ONNX Runtime's DynamicQuantizeMatMul). Their
 * output is QF_OUTPUT_DEQUANTIZED, or QF_OUTPUT_CHAIN (ending in f32, or requantized to u8/s8: the
 * scale a_scale · b_scale is known only at run time, so QF_OUTPUT_REQUANTIZED is refused). */
typedef enum qf_a_quantization {
    QF_A_CONSTANT = 0,
    QF_A_DYNAMIC_PER_TENSOR = 1,
    QF_A_DYNAMIC_PER_ROW = 2
} qf_a_quantization;

/* One step of an epilogue chain (QF_OUTPUT_CHAIN), applied to each output value v of column n. */
typedef enum qf_step_kind {
    QF_STEP_BIAS = 0,          /* v + values[n] (count = n or 1) */
    QF_STEP_SCALE = 1,         /* v * values[n] (count = n or 1), e.g. a folded batch norm */
    QF_STEP_ACTIVATION = 2,    /* activation(v) */
    QF_STEP_RESIDUAL_ADD = 3   /* v + residual_scale * (R[m][n] - residual_zero_point), R given per run
                                  (u8/s8, the output's shape); at most one per chain */
} qf_step_kind;

typedef struct qf_epilogue_step {
    qf_step_kind kind;
    int64_t count;                /* QF_STEP_BIAS / QF_STEP_SCALE: entries in values (1 or n) */
    const float *values;
    qf_activation activation;     /* QF_STEP_ACTIVATION */
    float clamp_min, clamp_max;
    qf_type residual_type;        /* QF_STEP_RESIDUAL_ADD: QF_TYPE_U8 or QF_TYPE_S8 */
    float residual_scale;
    int32_t residual_zero_point;
} qf_epilogue_step;

/* A quantized matmul. Fill it with qf_matmul_desc_init, then set what differs. */
typedef struct qf_matmul_desc {
    int64_t m;                    /* rows of A and C; 0 = given per call */
    int64_t k, n;
    qf_type a_type, b_type;       /* QF_TYPE_U8 or QF_TYPE_S8 (A: QF_TYPE_F32 with a dynamic a_quantization) */
    float a_scale;                /* QF_A_CONSTANT only */
    int32_t a_zero_point;
    int64_t b_channels;           /* 1 (per-tensor) or n (per output column) */
    const float *b_scales;        /* b_channels entries; NULL only with b_channels = 1 (scale 1) */
    const int32_t *b_zero_points; /* b_channels entries, or NULL for all zero */
    qf_output_mode output;
    qf_type output_type;          /* REQUANTIZED: U8 or S8; CHAIN: U8, S8 or F32 */
    float y_scale;
    int32_t y_zero_point;
    const void *bias;             /* n int32 (requantized) or n float (dequantized), or NULL;
                                     QF_OUTPUT_INT32 takes neither bias nor activation */
    qf_activation activation;
    float clamp_min, clamp_max;   /* QF_ACTIVATION_CLAMP, in the real (dequantized) domain */
    qf_a_quantization a_quantization;
    const qf_epilogue_step *steps;  /* QF_OUTPUT_CHAIN: step_count steps (copied at compile) */
    int64_t step_count;
} qf_matmul_desc;

typedef struct qf_context qf_context;
/* A compiled kernel of any operator; the functions that take one say which operators they accept
 * (another operator's kernel is QF_STATUS_INVALID_ARGUMENT). */
typedef struct qf_kernel qf_kernel;
/* Weights packed for one matmul, dynamic linear or convolution kernel. */
typedef struct qf_weights qf_weights;

/* The message of the calling thread's last failed call ("" if none). */
const char *qf_last_error(void);

/* The library's version, e.g. "0.6.0". */
const char *qf_version(void);

/* Defaults: u8 A, s8 B, scales 1, zero points 0, int32 output, per-tensor weights, constant A. */
void qf_matmul_desc_init(qf_matmul_desc *desc, int64_t m, int64_t k, int64_t n);

/* isa: NULL for the best this CPU supports, else "portable", "avx2", "avxvnni", "avx512vnni", ...
 * threads: how many threads each kernel call may use (1: the calling thread only).
 * Kernels use the tuned schedules of the tuning database when one exists ($QFORGE_TUNING_DB, else
 * ~/.cache/quantforge/tuning.sqlite; see `qforge autotune`), else the default heuristic. The
 * database is opened read-only: nothing is created or changed. A file named by $QFORGE_TUNING_DB
 * that is not a QuantForge tuning database is QF_STATUS_INVALID_ARGUMENT (and left as it is).
 * Compiled kernels are cached per context: compiling the same description twice is cheap. */
qf_status qf_context_create(const char *isa, int32_t threads, qf_context **context);
/* qf_context_create with the tuning database at tuning_database (read-only; a missing file or one
 * that is not a QuantForge tuning database is QF_STATUS_INVALID_ARGUMENT). */
qf_status qf_context_create_with_database(const char *isa, int32_t threads, const char *tuning_database,
                                          qf_context **context);
void qf_context_destroy(qf_context *context);
/* The context's instruction set, e.g. "avx512vnni" (owned by the context). */
const char *qf_context_isa(const qf_context *context);

/* ---- Matmul and dynamic linear ---------------------------------------------------------------
 * qf_kernel_compile builds a matmul (a_quantization QF_A_CONSTANT: u8/s8 A) or a dynamic quantized
 * linear (QF_A_DYNAMIC_*: f32 A; output DEQUANTIZED, REQUANTIZED or CHAIN). */
qf_status qf_kernel_compile(qf_context *context, const qf_matmul_desc *desc, qf_kernel **kernel);
/* Destroys a kernel of any operator. */
void qf_kernel_destroy(qf_kernel *kernel);

/* Packs B (K x N, row stride ldb elements, of b_type) for a matmul or dynamic linear kernel. */
qf_status qf_kernel_pack(const qf_kernel *kernel, const void *b, int64_t ldb, qf_weights **weights);
int64_t qf_weights_bytes(const qf_weights *weights);
void qf_weights_destroy(qf_weights *weights);

/* C = A · B for m rows (ignored when the kernel was compiled for a fixed M: pass it or 0).
 * a_bytes / c_bytes are the buffers' sizes; strides are in elements. A dynamic linear reads f32 A
 * with lda = K (its rows must be contiguous). */
qf_status qf_kernel_run(const qf_kernel *kernel, const void *a, int64_t lda, size_t a_bytes, const qf_weights *weights,
                        void *c, int64_t ldc, size_t c_bytes, int64_t m);
/* qf_kernel_run for a chain with QF_STEP_RESIDUAL_ADD: residual R is m x n of the step's type,
 * row stride ldr elements; r_bytes its size. */
qf_status qf_kernel_run_residual(const qf_kernel *kernel, const void *a, int64_t lda, size_t a_bytes,
                                 const qf_weights *weights, const void *residual, int64_t ldr, size_t r_bytes,
                                 void *c, int64_t ldc, size_t c_bytes, int64_t m);

/* ---- Convolution (ConvInteger / QLinearConv / dequantized / epilogue chains) -----------------
 * X is [batch, channels, height, width] (NCHW) or [batch, height, width, channels] (NHWC); W is
 * ONNX's [out_channels, channels / groups, kernel_h, kernel_w]; Y has X's layout with out_channels
 * channels and ONNX's output size. Depthwise convolutions (groups = channels = out_channels) run on
 * their own microkernel, the others as implicit GEMMs. The output fields mean what they mean in
 * qf_matmul_desc, with n = out_channels. A residual add needs NHWC. */
typedef enum qf_layout { QF_LAYOUT_NHWC = 0, QF_LAYOUT_NCHW = 1 } qf_layout;

typedef struct qf_conv_desc {
    int64_t batch, channels, height, width;
    int64_t out_channels, kernel_h, kernel_w;
    int64_t stride_h, stride_w;
    int64_t dilation_h, dilation_w;
    int64_t pad_top, pad_left, pad_bottom, pad_right;
    int64_t groups;
    qf_layout layout;
    qf_type x_type, w_type;       /* U8 or S8 */
    float x_scale;
    int32_t x_zero_point;
    int64_t w_channels;           /* 1 or out_channels */
    const float *w_scales;        /* w_channels entries; NULL only with w_channels = 1 */
    const int32_t *w_zero_points; /* w_channels entries, or NULL */
    qf_output_mode output;
    qf_type output_type;
    float y_scale;
    int32_t y_zero_point;
    const void *bias;             /* out_channels int32 (requantized) or float (dequantized), or NULL */
    qf_activation activation;
    float clamp_min, clamp_max;
    const qf_epilogue_step *steps;
    int64_t step_count;
} qf_conv_desc;

/* Defaults: stride 1, dilation 1, no padding, groups 1, NHWC, u8 X, s8 W, scales 1, zero points
 * 0, int32 output. */
void qf_conv_desc_init(qf_conv_desc *desc, int64_t batch, int64_t channels, int64_t height, int64_t width,
                       int64_t out_channels, int64_t kernel_h, int64_t kernel_w);
qf_status qf_conv_compile(qf_context *context, const qf_conv_desc *desc, qf_kernel **kernel);
/* The output's spatial size (ONNX's formula). */
qf_status qf_conv_output_size(const qf_kernel *kernel, int64_t *height, int64_t *width);
/* Packs W (ONNX layout, w_bytes its size) once for this convolution kernel. */
qf_status qf_conv_pack(const qf_kernel *kernel, const void *w, size_t w_bytes, qf_weights **weights);
/* Y = conv(X, W) → the output mode. residual: NHWC, Y's shape and the chain's type, or NULL. */
qf_status qf_conv_run(const qf_kernel *kernel, const void *x, size_t x_bytes, const qf_weights *weights,
                      const void *residual, size_t residual_bytes, void *y, size_t y_bytes);

/* ---- QuantizeLinear / DequantizeLinear (ONNX, opset 21) ---------------------------------------
 * Per tensor, per axis (one scale and zero point per index along axis) or blocked (one per
 * block_size consecutive indices along axis); 8- and 16-bit. Shapes are fixed at compile time. */
#define QF_MAX_RANK 8

typedef enum qf_granularity { QF_PER_TENSOR = 0, QF_PER_AXIS = 1, QF_BLOCKED = 2 } qf_granularity;

typedef struct qf_quantize_desc {
    int32_t rank;                 /* 0..QF_MAX_RANK (0: a scalar) */
    int64_t shape[QF_MAX_RANK];
    qf_type type;                 /* the quantized type: U8, S8, U16 or S16 */
    qf_granularity granularity;
    int32_t axis;                 /* PER_AXIS / BLOCKED; negative counts from the end */
    int64_t block_size;           /* BLOCKED */
    int64_t parameter_count;      /* 1, shape[axis], or shape with shape[axis] -> ceil(shape[axis] / block_size) */
    const float *scales;          /* parameter_count entries, in the parameter tensor's row-major order */
    const int32_t *zero_points;   /* parameter_count entries, or NULL for all zero */
} qf_quantize_desc;

qf_status qf_quantize_compile(qf_context *context, const qf_quantize_desc *desc, qf_kernel **kernel);
qf_status qf_dequantize_compile(qf_context *context, const qf_quantize_desc *desc, qf_kernel **kernel);
/* y = saturate(round_half_even(x / scale) + zero_point): x f32, y of the desc's type. */
qf_status qf_quantize_run(const qf_kernel *kernel, const float *x, size_t x_bytes, void *y, size_t y_bytes);
/* y = (x - zero_point) * scale: x of the desc's type, y f32. */
qf_status qf_dequantize_run(const qf_kernel *kernel, const void *x, size_t x_bytes, float *y, size_t y_bytes);

/* ---- DynamicQuantizeLinear (ONNX): f32 -> u8 with the scale and zero point it computes --------
 * per_row = 0: one pair for the rows x columns tensor (ONNX's operator); 1: one pair per row. */
qf_status qf_dynamic_quantize_compile(qf_context *context, int64_t rows, int64_t columns, int32_t per_row,
                                      qf_kernel **kernel);
/* scales and zero_points receive parameter_count entries (1, or rows when per_row). */
qf_status qf_dynamic_quantize_run(const qf_kernel *kernel, const float *x, size_t x_bytes, uint8_t *y, size_t y_bytes,
                                  float *scales, int32_t *zero_points, int64_t parameter_count);

/* ---- QLinearAdd / QLinearMul (com.microsoft) with numpy broadcasting --------------------------- */
typedef enum qf_binary_kind { QF_BINARY_ADD = 0, QF_BINARY_MUL = 1 } qf_binary_kind;

typedef struct qf_binary_desc {
    qf_binary_kind kind;
    qf_type type;                 /* U8 or S8, for A, B and Y */
    int32_t a_rank, b_rank;       /* 0..QF_MAX_RANK */
    int64_t a_shape[QF_MAX_RANK], b_shape[QF_MAX_RANK];
    float a_scale, b_scale, y_scale;
    int32_t a_zero_point, b_zero_point, y_zero_point;
} qf_binary_desc;

qf_status qf_binary_compile(qf_context *context, const qf_binary_desc *desc, qf_kernel **kernel);
/* Y has the broadcast shape of A and B. */
qf_status qf_binary_run(const qf_kernel *kernel, const void *a, size_t a_bytes, const void *b, size_t b_bytes,
                        void *y, size_t y_bytes);

/* ---- Lookup activations: y = quantize_y(f(dequantize_x(x))) through a 256-entry table --------- */
typedef struct qf_lookup_desc {
    qf_activation function;
    float clamp_min, clamp_max;   /* QF_ACTIVATION_CLAMP */
    int64_t count;                /* elements */
    qf_type x_type, y_type;       /* U8 or S8 */
    float x_scale, y_scale;
    int32_t x_zero_point, y_zero_point;
} qf_lookup_desc;

qf_status qf_lookup_compile(qf_context *context, const qf_lookup_desc *desc, qf_kernel **kernel);
qf_status qf_lookup_run(const qf_kernel *kernel, const void *x, size_t x_bytes, void *y, size_t y_bytes);

/* ---- Weight-only 4/8-bit linear (ONNX Runtime's com.microsoft::MatMulNBits) ----------------
 * y[M, N] = act(A[M, K] · Wᵀ + bias), f32 A and y, W quantized blockwise along K:
 * W[n][k] = (q - zp) · scale for the block k / block_size of column n. The inputs are
 * MatMulNBits': b [N, ⌈K/block⌉, block·bits/8] (4 bits: element 2i in the low nibble of byte i),
 * scales [N·⌈K/block⌉] (f32, or f16 with scales_are_f16), zero_points [N, ⌈⌈K/block⌉·bits/8⌉]
 * packed like b (only with has_zero_points; else 2^(bits-1)). compute QF_NBITS_INT8 quantizes A
 * per block to int8 as MLAS's accuracy_level 4 does (integer block dot products); QF_NBITS_F32
 * dequantizes the weights (accuracy_level 0). Both are defined operation by operation in
 * QuantForge's reference (ReferenceOperators.nbitsLinear). */
typedef enum qf_nbits_compute { QF_NBITS_INT8 = 0, QF_NBITS_F32 = 1 } qf_nbits_compute;

typedef struct qf_nbits_desc {
    int64_t k, n;
    int32_t bits;                 /* 4 or 8 */
    int32_t block_size;           /* 16, 32, 64, 128 or 256 */
    int32_t has_zero_points;      /* 1: per-block zero points are packed with the weights */
    qf_nbits_compute compute;
    int32_t has_bias;             /* 1: a bias [N] is packed with the weights */
    qf_activation activation;     /* applied to acc + bias */
    float clamp_min, clamp_max;   /* QF_ACTIVATION_CLAMP */
} qf_nbits_desc;

qf_status qf_nbits_compile(qf_context *context, const qf_nbits_desc *desc, qf_kernel **kernel);
/* Packs MatMulNBits' inputs once (sizes checked exactly; zero_points / bias NULL unless the desc
 * has them; scales must be finite). */
qf_status qf_nbits_pack(const qf_kernel *kernel, const uint8_t *b, size_t b_bytes, const void *scales, size_t scales_bytes,
                        int32_t scales_are_f16, const uint8_t *zero_points, size_t zero_points_bytes, const float *bias,
                        size_t bias_bytes, qf_weights **weights);
/* M = a_bytes / (4·K) rows; y holds M·N floats. */
qf_status qf_nbits_run(const qf_kernel *kernel, const float *a, size_t a_bytes, const qf_weights *weights, float *y,
                       size_t y_bytes);

/* ---- Transformer row operators: LayerNormalization and Softmax over the last axis (f32) -------
 * LayerNorm: y = (v - mean)·rstd·gamma + beta per row of `columns`, v = x (+ residual when
 * has_residual: SkipLayerNormalization without its bias), rstd = 1/sqrt(var + epsilon). Softmax:
 * per row of `columns` (given per call) y = exp(scale·x - max) / sum over the first `valid`
 * columns, 0 in the rest (a key-padding mask). Both are defined operation by operation (sums in a
 * fixed 16-lane order, QuantForge's exp within 2 ulp), so every ISA gives the same bits; y may be x. */
typedef struct qf_layernorm_desc {
    int64_t columns;
    float epsilon;
    int32_t has_residual;
    /* 0: y is f32. 1: y is quantized (QuantizeLinear fused: sat(RNE(y / y_scale) + y_zero_point))
     * as output_type (QF_TYPE_U8 or QF_TYPE_S8), one byte per value. Zero-initialized = f32. */
    int32_t quantized_output;
    qf_type output_type;
    float y_scale;
    int32_t y_zero_point;
} qf_layernorm_desc;

qf_status qf_layernorm_compile(qf_context *context, const qf_layernorm_desc *desc, qf_kernel **kernel);
/* x, residual (NULL unless has_residual): whole rows of `columns` floats; gamma, beta: `columns`;
 * y: as many rows of `columns` floats, or of `columns` bytes with a quantized output. */
qf_status qf_layernorm_run(const qf_kernel *kernel, const float *x, size_t x_bytes, const float *residual, size_t residual_bytes,
                           const float *gamma, size_t gamma_bytes, const float *beta, size_t beta_bytes, void *y, size_t y_bytes);
qf_status qf_softmax_compile(qf_context *context, float scale, qf_kernel **kernel);
/* Int8 multi-head attention over one sequence of a fused QKV projection's output (QuantForge's
 * QuantizedAttention): Q, K, V quantized per token and head (scale amax/127), the int32 Q·Kᵀ scaled,
 * softmax(scale·s) over the first `valid` keys, P·scaleV quantized per row to u8, the int32 P·V
 * scaled; bit-exact on every ISA. head_size: a multiple of 4 in 4...256; heads in 1...256. */
typedef struct qf_attention_desc {
    int32_t heads;
    int32_t head_size;
    float scale;        /* the scores' multiplier, usually 1/sqrt(head_size) */
} qf_attention_desc;
qf_status qf_attention_compile(qf_context *context, const qf_attention_desc *desc, qf_kernel **kernel);
/* Fused f32 multi-head attention (QuantForge's F32Attention) with the same description, rows and
 * run call: s = Q·Kᵀ and out = P·V each one chain of fused multiply-adds, the softmax between;
 * bit-exact on every ISA, faster than the int8 kernel below ~128 tokens. */
qf_status qf_f32_attention_compile(qf_context *context, const qf_attention_desc *desc, qf_kernel **kernel);
/* Either attention kernel. qkv: `length` rows of 3·heads·head_size floats (Q, then K, then V, each heads blocks of
 * head_size); 1 <= valid <= length keys attended; y: `length` rows of heads·head_size floats. */
qf_status qf_attention_run(const qf_kernel *kernel, const float *qkv, size_t qkv_bytes, int64_t length, int64_t valid,
                           float *y, size_t y_bytes);
/* x and y: whole rows of `columns` floats; 0 <= valid <= columns. */
qf_status qf_softmax_run(const qf_kernel *kernel, const float *x, size_t x_bytes, int64_t columns, int64_t valid, float *y,
                         size_t y_bytes);

/* ---- Autotuning ------------------------------------------------------------------------------
 * Searches the schedules of a matmul with a fixed M (m > 0, QF_A_CONSTANT) on the context's ISA
 * and thread count for about `seconds`, checking every candidate against the reference, and
 * records the best in the tuning database at `database` (created when missing; a file that is not
 * a QuantForge tuning database is refused and left as it is). Contexts created on that database
 * compile the tuned schedule. best_us / default_us (may be NULL): the best and the default
 * schedule's time per call in microseconds. */
qf_status qf_autotune(qf_context *context, const qf_matmul_desc *desc, const char *database, double seconds,
                      double *best_us, double *default_us);

/* ---- Any kernel -------------------------------------------------------------------------------
 * The element count and type of a kernel's output for m rows (m ignored except by matmuls with a
 * variable M, by MatMulNBits, LayerNorm and attention kernels, which need m >= 1 rows (tokens for
 * attention); a softmax's output has
 * its input's shape, so it is refused here), so a host can allocate it. */
qf_status qf_kernel_output(const qf_kernel *kernel, int64_t m, int64_t *elements, qf_type *type);
/* What runs, e.g. "matmul avx512vnni mr6 nv4 ku4" or "depthwise avx512vnni" (owned by the kernel). */
const char *qf_kernel_describe(const qf_kernel *kernel);

#ifdef __cplusplus
}
#endif

#endif
