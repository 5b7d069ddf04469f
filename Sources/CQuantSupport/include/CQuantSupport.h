// The few platform calls Swift cannot make directly: CPUID, XGETBV, the variadic syscall that asks
// Linux for AMX tile-data permission, and the AArch64 hwcaps.
#ifndef QUANTFORGE_CQUANTSUPPORT_H
#define QUANTFORGE_CQUANTSUPPORT_H

#include <stdint.h>
#include <stddef.h>

/// Whether this build runs on x86-64 (1) or AArch64 (2); 0 otherwise.
int qf_host_arch(void);

/// CPUID leaf/subleaf into regs[0..3] = eax, ebx, ecx, edx. Returns 0 when unsupported (not x86).
int qf_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

/// XGETBV(index); 0 when not x86 or OSXSAVE is off.
uint64_t qf_xgetbv(uint32_t index);

/// arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): 0 on success, otherwise errno (or -1 when
/// the platform has no such call). Per process; idempotent.
int qf_request_amx_permission(void);

/// arch_prctl(ARCH_GET_XCOMP_PERM): the permitted XSAVE feature mask, 0 when unknown.
uint64_t qf_amx_permitted_mask(void);

/// getauxval(AT_HWCAP) / getauxval(AT_HWCAP2); 0 when unavailable.
uint64_t qf_hwcap(void);
uint64_t qf_hwcap2(void);

/// The calling thread's last error message for the C API (thread-local; "" when none).
/* A buffer for large read-mostly data (packed weights): 2 MiB-aligned on huge pages (madvise) from
 * 2 MiB, else 64-byte aligned; NULL when out of memory. Freed with qf_free_large. */
void *qf_allocate_large(size_t bytes);
void qf_free_large(void *p);
/* One pass of 64-byte loads over bytes (a multiple of 512; the rest is not read) summed into 8
 * accumulators: the read-bandwidth probe of `qforge bench` (as ../shared/peers/bandwidth.c). */
uint64_t qf_read_pass(const void *buffer, size_t bytes);

const char *qf_last_error(void);
/// Sets the calling thread's last error message (copied, truncated to 1023 bytes).
void qf_set_last_error(const char *message);

/// A spin-wait hint (`pause` on x86, `yield` on AArch64).
static inline void qf_cpu_relax(void) {
#if defined(__x86_64__)
    __asm__ volatile("pause");
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/// The one argument of every generated matmul kernel: `void kernel(const qf_matmul_args *)`.
/// Every field is 8 bytes, so the generated code reads field i at byte offset 8*i.
/// Rows [row_begin, row_end) of A and C and column panels [panel_begin, panel_end) are computed,
/// which lets a thread pool split the output without another entry point.
#ifndef QF_MATMUL_ARGS_DEFINED
#define QF_MATMUL_ARGS_DEFINED
typedef struct qf_matmul_args {
    const void *a;        /* A: M x K, u8 or s8, row stride lda elements */
    int64_t lda;
    const void *packed_b; /* B packed by QuantForge for this kernel (64-byte aligned) */
    void *c;              /* C: M x N in the output type, row stride ldc elements */
    int64_t ldc;
    int64_t row_begin;
    int64_t row_end;
    int64_t panel_begin;
    int64_t panel_end;
    const void *residual;           /* epilogue chains with a residual add: M x N u8/s8, row stride ld_residual */
    int64_t ld_residual;
    const float *a_scales;          /* A quantized at run time: its scale (one, or one per row) */
    const int32_t *a_zero_points;   /* ... and its zero point (one, or one per row) */
} qf_matmul_args;
#endif

typedef void (*qf_matmul_kernel)(const qf_matmul_args *);

/// The one argument of the elementwise kernels (quantize, dequantize, dynamic quantization,
/// binary and lookup ops, depthwise convolution): every field is 8 bytes.
typedef struct qf_elementwise_args {
    const void *x;      /* first input */
    const void *x2;     /* second input (binary ops) */
    void *y;            /* output */
    void *extra;        /* op-specific output (DynamicQuantizeLinear: its scales, f32) */
    void *extra2;       /* op-specific output (DynamicQuantizeLinear: its zero points, int32) */
    int64_t begin;      /* first row handled (ops that split rows) */
    int64_t end;        /* one past the last row handled */
} qf_elementwise_args;

typedef void (*qf_elementwise_kernel)(const qf_elementwise_args *);

static inline void qf_call_elementwise_kernel(const void *kernel, const qf_elementwise_args *args) {
    ((qf_elementwise_kernel)kernel)(args);
}

/// Calls a generated kernel (Swift cannot call a raw address with a C signature directly).
static inline void qf_call_matmul_kernel(const void *kernel, const qf_matmul_args *args) {
    ((qf_matmul_kernel)kernel)(args);
}

/// The same call with SIGILL caught on the calling thread for its duration (the AMX self-check):
/// 1 when the kernel raised SIGILL, 0 when it returned, -1 when no handler could be installed.
/// `execute_illegal_instruction` executes `ud2` first (fault injection).
int qf_call_matmul_kernel_guarded(const void *kernel, const qf_matmul_args *args, int execute_illegal_instruction);

#endif
