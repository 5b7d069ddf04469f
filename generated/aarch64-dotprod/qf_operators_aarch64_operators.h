/* qf_operators_aarch64_operators.h: operator kernels generated ahead of time by QuantForge 0.7.3 (LLVM 14) (`qforge aot`).
 * Generated file: do not edit; regenerate it instead.
 *
 * Target: aarch64-unknown-linux-gnu; instruction sets: neondot.
 * Compile qf_operators_aarch64_operators.c and link it with qf_operators_aarch64.o and
 * the C math library (-lm: a variant without FMA instructions calls fmaf); no LLVM and no Swift
 * runtime are needed. Results are bit-exact with QuantForge's reference
 * interpreter (ONNX semantics). Every function returns QF_OK or a negative error code:
 * QF_ERROR_ARGUMENT (a null pointer, a misaligned packed buffer, an M out of range, a missing or
 * unexpected residual or scratch buffer), QF_ERROR_MEMORY (packing could not allocate its
 * temporary), QF_ERROR_NO_ISA / QF_ERROR_UNKNOWN_ISA (no variant runs here; multi-ISA only).
 * Buffers are dense and row-major; packed weights are 64-byte aligned buffers of NAME_packed_bytes()
 * bytes, packed once per process with NAME_pack (their layout depends on the variant chosen).
 */
#ifndef QF_OPERATORS_AARCH64_OPERATORS_H
#define QF_OPERATORS_AARCH64_OPERATORS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef QF_OK
#define QF_OK 0
#define QF_ERROR_NO_ISA (-1)
#define QF_ERROR_UNKNOWN_ISA (-2)
#endif
#define QF_ERROR_ARGUMENT (-3)
#define QF_ERROR_MEMORY (-4)

/* qkv_dynamic: dynamic quantized linear: f32 A[M x 384] -> u8 (DynamicQuantizeLinear per row) · s8 B[384 x 1152] -> f32 C[M x 1152]
 *   M: given per call
 *   B: scale 0.004, zero point 0
 *   output: dequantized: acc · a_scale · b_scale[n], no activation
 *   ISA: neondot */
#define QKV_DYNAMIC_K 384
#define QKV_DYNAMIC_N 1152
int qkv_dynamic_packed_bytes(int64_t *bytes);
/* Packs B (K x N, row stride ldb elements) into `packed` (64-byte aligned). */
int qkv_dynamic_pack(const void *b, int64_t ldb, void *packed);
/* C[m x N] = dynamic_quantize(A[m x K], f32, rows contiguous) · B → the output. scales and
 * zero_points receive A's parameters: m (one per row) entries each. */
int qkv_dynamic_run(const float *a, const void *packed, void *c, int64_t m, float *scales, int32_t *zero_points);

/* ffn_up_dynamic: dynamic quantized linear: f32 A[M x 384] -> u8 (DynamicQuantizeLinear per row) · s8 B[384 x 1536] -> f32 C[M x 1536]
 *   M: given per call
 *   B: scale 0.004, zero point 0
 *   output: dequantized: acc · a_scale · b_scale[n], ReLU
 *   ISA: neondot */
#define FFN_UP_DYNAMIC_K 384
#define FFN_UP_DYNAMIC_N 1536
int ffn_up_dynamic_packed_bytes(int64_t *bytes);
/* Packs B (K x N, row stride ldb elements) into `packed` (64-byte aligned). */
int ffn_up_dynamic_pack(const void *b, int64_t ldb, void *packed);
/* C[m x N] = dynamic_quantize(A[m x K], f32, rows contiguous) · B → the output. scales and
 * zero_points receive A's parameters: m (one per row) entries each. */
int ffn_up_dynamic_run(const float *a, const void *packed, void *c, int64_t m, float *scales, int32_t *zero_points);

/* ffn_up_4bit: MatMulNBits: f32 A[M x 384] · 4-bit W[1536 x 384] (blocks of 32 along K) -> f32 Y[M x 1536]
 *   zero points: 8
 *   compute: A quantized to int8 per block (accuracy_level 4)
 *   bias: yes, activation: GELU
 *   ISA: neondot */
#define FFN_UP_4BIT_K 384
#define FFN_UP_4BIT_N 1536
#define FFN_UP_4BIT_B_BYTES 294912            /* MatMulNBits' B: [N, blocks, block·bits/8] */
#define FFN_UP_4BIT_SCALES 18432            /* f32 scales: [N · blocks] */
#define FFN_UP_4BIT_ZERO_POINT_BYTES 0  /* [N, ⌈blocks·bits/8⌉]; 0: no zero points (pass NULL) */
int ffn_up_4bit_packed_bytes(int64_t *bytes);
/* Packs MatMulNBits' inputs into `packed` (64-byte aligned): b, scales, zero_points (NULL without
 * them), bias [N] (NULL unless the operator has one). QF_ERROR_MEMORY: no memory for a temporary. */
int ffn_up_4bit_pack(const uint8_t *b, const float *scales, const uint8_t *zero_points, const float *bias, void *packed);
/* Y[m x N] = A[m x K] · W^T (+ bias, activation), f32 rows. QF_ERROR_MEMORY: no memory for A's
 * quantized copy (int8 compute). */
int ffn_up_4bit_run(const float *a, int64_t m, const void *packed, float *y);

/* tokens_quantize: DynamicQuantizeLinear: f32 x[16 x 384] -> u8, a scale and zero point per row
 *   ISA: neondot */
#define TOKENS_QUANTIZE_ROWS 16
#define TOKENS_QUANTIZE_COLUMNS 384
#define TOKENS_QUANTIZE_PARAMETERS 16
/* y (u8) = DynamicQuantizeLinear(x); scales and zero_points receive TOKENS_QUANTIZE_PARAMETERS entries. */
int tokens_quantize_run(const float *x, uint8_t *y, float *scales, int32_t *zero_points);

/* hidden_quantize: QuantizeLinear: f32 x[16, 384] -> u8
 *   per tensor: scale 0.05, zero point 128
 *   ISA: neondot */
#define HIDDEN_QUANTIZE_ELEMENTS 6144
/* y = saturate(round_half_even(x / scale) + zero_point) for every element. */
int hidden_quantize_run(const float *x, void *y);

/* hidden_dequantize: DequantizeLinear: u8 x[16, 384] -> f32
 *   per tensor: scale 0.05, zero point 128
 *   ISA: neondot */
#define HIDDEN_DEQUANTIZE_ELEMENTS 6144
/* y = (x - zero_point) * scale for every element. */
int hidden_dequantize_run(const void *x, float *y);

/* hidden_residual_add: QLinearAdd: u8 A[16, 384], B[16, 384] (broadcast) -> Y[16, 384]
 *   A: scale 0.05, zero point 128
 *   B: scale 0.04, zero point 128
 *   Y: scale 0.06, zero point 128
 *   ISA: neondot */
#define HIDDEN_RESIDUAL_ADD_A_ELEMENTS 6144
#define HIDDEN_RESIDUAL_ADD_B_ELEMENTS 6144
#define HIDDEN_RESIDUAL_ADD_Y_ELEMENTS 6144
int hidden_residual_add_run(const void *a, const void *b, void *y);

/* ffn_gelu: GELU through a 256-entry table: u8 x[24576] -> u8
 *   x: scale 0.05, zero point 128
 *   y: scale 0.03, zero point 10
 *   ISA: neondot */
#define FFN_GELU_ELEMENTS 24576
int ffn_gelu_run(const void *x, void *y);

/* attention_norm: LayerNormalization: f32 x[rows x 384] + residual -> u8 (QuantizeLinear fused: scale 0.05, zero point 128)
 *   epsilon 1e-12; y = (v - mean) * rstd * gamma + beta, v = x + residual
 *   ISA: neondot */
#define ATTENTION_NORM_COLUMNS 384
#define ATTENTION_NORM_HAS_RESIDUAL 1
/* `rows` rows of ATTENTION_NORM_COLUMNS floats of x (+ residual: NULL unless ATTENTION_NORM_HAS_RESIDUAL) -> y
 * (uint8_t; f32 y may be x); gamma, beta: ATTENTION_NORM_COLUMNS floats. */
int attention_norm_run(const float *x, const float *residual, const float *gamma, const float *beta, uint8_t *y, int64_t rows);

/* attention_probs: Softmax: f32 rows of scale * x, scale 0.17677669, over the first `valid` columns (0 after)
 *   ISA: neondot */
/* `rows` rows of `columns` floats (y may be x); entries at and past `valid` become 0. */
int attention_probs_run(const float *x, float *y, int64_t rows, int64_t columns, int64_t valid);

/* attention_int8: int8 attention: f32 Q, K, V of 16 tokens × 12 heads of 32 -> f32 (QuantizedAttention)
 *   softmax(scale · Q·Kᵀ) · V per head, scale 0.17677669; Q, K, V quantized per token and head (amax/127), P per row to u8
 *   ISA: neondot */
#define ATTENTION_INT8_LENGTH 16
#define ATTENTION_INT8_HEADS 12
#define ATTENTION_INT8_HEAD_SIZE 32
#define ATTENTION_INT8_SCRATCH_BYTES 42240
/* qkv: ATTENTION_INT8_LENGTH rows, each a token's Q, K and V of HEADS * HEAD_SIZE floats (head after
 * head); keys at and past `valid` (1 ... LENGTH) are masked; output: LENGTH rows of
 * HEADS * HEAD_SIZE floats; scratch: ATTENTION_INT8_SCRATCH_BYTES bytes, 64-byte aligned (one call's). */
int attention_int8_run(const float *qkv, int64_t valid, float *output, void *scratch);

/* attention_f32: fused f32 attention: f32 Q, K, V of 16 tokens × 12 heads of 32 -> f32 (F32Attention)
 *   softmax(scale · Q·Kᵀ) · V per head, scale 0.17677669; each product one chain of fused multiply-adds
 *   ISA: neondot */
#define ATTENTION_F32_LENGTH 16
#define ATTENTION_F32_HEADS 12
#define ATTENTION_F32_HEAD_SIZE 32
#define ATTENTION_F32_SCRATCH_BYTES 30720
/* qkv: ATTENTION_F32_LENGTH rows, each a token's Q, K and V of HEADS * HEAD_SIZE floats (head after
 * head); keys at and past `valid` (1 ... LENGTH) are masked; output: LENGTH rows of
 * HEADS * HEAD_SIZE floats; scratch: ATTENTION_F32_SCRATCH_BYTES bytes, 64-byte aligned (one call's). */
int attention_f32_run(const float *qkv, int64_t valid, float *output, void *scratch);

/* mbv2_expand: convolution, NHWC: u8 X[1, 28, 28, 32] * s8 W[192, 32, 1, 1] -> u8 Y[1, 28, 28, 192]
 *   strides [1, 1], pads [0, 0, 0, 0] (top, left, bottom, right), dilations [1, 1], groups 1
 *   X: scale 0.02, zero point 0
 *   W: scale 0.01, zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.025, zero point 0, clamp to [0.0, 6.0]
 *   implicit GEMM per group
 *   ISA: neondot */
#define MBV2_EXPAND_X_ELEMENTS 25088
#define MBV2_EXPAND_W_ELEMENTS 6144
#define MBV2_EXPAND_Y_ELEMENTS 150528
#define MBV2_EXPAND_SCRATCH_BYTES 0 /* NCHW: NHWC copies of X and Y; 0 for NHWC (pass NULL) */
int mbv2_expand_packed_bytes(int64_t *bytes);
/* Packs W (ONNX [M, C/groups, KH, KW]) into `packed` (64-byte aligned). */
int mbv2_expand_pack(const void *w, void *packed);
/* Y = conv(X) → the output; residual: the chain's residual input (Y's NHWC shape) or NULL. */
int mbv2_expand_run(const void *x, const void *packed, void *y, const void *residual, void *scratch);

/* mbv2_depthwise: depthwise convolution, NHWC: u8 X[1, 28, 28, 192] * s8 W[192, 1, 3, 3] -> u8 Y[1, 28, 28, 192]
 *   strides [1, 1], pads [1, 1, 1, 1] (top, left, bottom, right), dilations [1, 1], groups 192
 *   X: scale 0.025, zero point 0
 *   W: scale 0.02, zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.025, zero point 0, clamp to [0.0, 6.0]
 *   depthwise microkernel
 *   ISA: neondot */
#define MBV2_DEPTHWISE_X_ELEMENTS 150528
#define MBV2_DEPTHWISE_W_ELEMENTS 1728
#define MBV2_DEPTHWISE_Y_ELEMENTS 150528
#define MBV2_DEPTHWISE_SCRATCH_BYTES 0 /* NCHW: NHWC copies of X and Y; 0 for NHWC (pass NULL) */
int mbv2_depthwise_packed_bytes(int64_t *bytes);
/* Packs W (ONNX [M, C/groups, KH, KW]) into `packed` (64-byte aligned). */
int mbv2_depthwise_pack(const void *w, void *packed);
/* Y = conv(X) → the output; residual: the chain's residual input (Y's NHWC shape) or NULL. */
int mbv2_depthwise_run(const void *x, const void *packed, void *y, const void *residual, void *scratch);

/* mbv2_project: convolution, NHWC: u8 X[1, 28, 28, 192] * s8 W[32, 192, 1, 1] -> u8 Y[1, 28, 28, 32]
 *   strides [1, 1], pads [0, 0, 0, 0] (top, left, bottom, right), dilations [1, 1], groups 1
 *   X: scale 0.025, zero point 0
 *   W: scale 0.01, zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.02, zero point 128, no activation
 *   implicit GEMM per group
 *   ISA: neondot */
#define MBV2_PROJECT_X_ELEMENTS 150528
#define MBV2_PROJECT_W_ELEMENTS 6144
#define MBV2_PROJECT_Y_ELEMENTS 25088
#define MBV2_PROJECT_SCRATCH_BYTES 0 /* NCHW: NHWC copies of X and Y; 0 for NHWC (pass NULL) */
int mbv2_project_packed_bytes(int64_t *bytes);
/* Packs W (ONNX [M, C/groups, KH, KW]) into `packed` (64-byte aligned). */
int mbv2_project_pack(const void *w, void *packed);
/* Y = conv(X) → the output; residual: the chain's residual input (Y's NHWC shape) or NULL. */
int mbv2_project_run(const void *x, const void *packed, void *y, const void *residual, void *scratch);

/* mbv2_residual_add: QLinearAdd: u8 A[1, 28, 28, 32], B[1, 28, 28, 32] (broadcast) -> Y[1, 28, 28, 32]
 *   A: scale 0.02, zero point 128
 *   B: scale 0.02, zero point 0
 *   Y: scale 0.03, zero point 128
 *   ISA: neondot */
#define MBV2_RESIDUAL_ADD_A_ELEMENTS 25088
#define MBV2_RESIDUAL_ADD_B_ELEMENTS 25088
#define MBV2_RESIDUAL_ADD_Y_ELEMENTS 25088
int mbv2_residual_add_run(const void *a, const void *b, void *y);

/* resnet_conv3x3: convolution, NCHW: u8 X[1, 64, 14, 14] * s8 W[64, 64, 3, 3] -> u8 Y[1, 64, 14, 14]
 *   strides [1, 1], pads [1, 1, 1, 1] (top, left, bottom, right), dilations [1, 1], groups 1
 *   X: scale 0.03, zero point 0
 *   W: scale 0.005, zero point 0
 *   output: requantized (ONNX QLinearMatMul): scale 0.04, zero point 0, ReLU
 *   implicit GEMM per group
 *   ISA: neondot */
#define RESNET_CONV3X3_X_ELEMENTS 12544
#define RESNET_CONV3X3_W_ELEMENTS 36864
#define RESNET_CONV3X3_Y_ELEMENTS 12544
#define RESNET_CONV3X3_SCRATCH_BYTES 25088 /* NCHW: NHWC copies of X and Y; 0 for NHWC (pass NULL) */
int resnet_conv3x3_packed_bytes(int64_t *bytes);
/* Packs W (ONNX [M, C/groups, KH, KW]) into `packed` (64-byte aligned). */
int resnet_conv3x3_pack(const void *w, void *packed);
/* Y = conv(X) → the output; residual: the chain's residual input (Y's NHWC shape) or NULL. */
int resnet_conv3x3_run(const void *x, const void *packed, void *y, const void *residual, void *scratch);

#ifdef __cplusplus
}
#endif

#endif
