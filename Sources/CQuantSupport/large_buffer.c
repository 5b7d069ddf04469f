#define _GNU_SOURCE
#include "CQuantSupport.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

void *qf_allocate_large(size_t bytes) {
    // Buffers of 2 MiB and more: 2 MiB-aligned and, where the kernel grants them, on huge pages,
    // so that streaming them is not limited by 4 KiB-page TLB misses.
    size_t huge = (size_t)2 << 20;
    size_t alignment = bytes >= huge ? huge : 64;
    size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    void *p = NULL;
    if (posix_memalign(&p, alignment, rounded ? rounded : alignment) != 0) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (alignment == huge) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

void qf_free_large(void *p) { free(p); }

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static uint64_t sum_avx512(const uint8_t *p, size_t bytes) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (size_t i = 0; i < bytes; i += 512) {
        s0 = _mm512_add_epi64(s0, _mm512_load_si512((const void *)(p + i)));
        s1 = _mm512_add_epi64(s1, _mm512_load_si512((const void *)(p + i + 64)));
        s2 = _mm512_add_epi64(s2, _mm512_load_si512((const void *)(p + i + 128)));
        s3 = _mm512_add_epi64(s3, _mm512_load_si512((const void *)(p + i + 192)));
        s4 = _mm512_add_epi64(s4, _mm512_load_si512((const void *)(p + i + 256)));
        s5 = _mm512_add_epi64(s5, _mm512_load_si512((const void *)(p + i + 320)));
        s6 = _mm512_add_epi64(s6, _mm512_load_si512((const void *)(p + i + 384)));
        s7 = _mm512_add_epi64(s7, _mm512_load_si512((const void *)(p + i + 448)));
    }
    s0 = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)),
                          _mm512_add_epi64(_mm512_add_epi64(s4, s5), _mm512_add_epi64(s6, s7)));
    return (uint64_t)_mm512_reduce_add_epi64(s0);
}

__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint8_t *p, size_t bytes) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (size_t i = 0; i < bytes; i += 256) {
        s0 = _mm256_add_epi64(s0, _mm256_load_si256((const __m256i *)(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_load_si256((const __m256i *)(p + i + 32)));
        s2 = _mm256_add_epi64(s2, _mm256_load_si256((const __m256i *)(p + i + 64)));
        s3 = _mm256_add_epi64(s3, _mm256_load_si256((const __m256i *)(p + i + 96)));
        s4 = _mm256_add_epi64(s4, _mm256_load_si256((const __m256i *)(p + i + 128)));
        s5 = _mm256_add_epi64(s5, _mm256_load_si256((const __m256i *)(p + i + 160)));
        s6 = _mm256_add_epi64(s6, _mm256_load_si256((const __m256i *)(p + i + 192)));
        s7 = _mm256_add_epi64(s7, _mm256_load_si256((const __m256i *)(p + i + 224)));
    }
    s0 = _mm256_add_epi64(_mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3)),
                          _mm256_add_epi64(_mm256_add_epi64(s4, s5), _mm256_add_epi64(s6, s7)));
    uint64_t v[4];
    _mm256_storeu_si256((__m256i *)v, s0);
    return v[0] + v[1] + v[2] + v[3];
}
#endif

uint64_t qf_read_pass(const void *buffer, size_t bytes) {
    const uint8_t *p = (const uint8_t *)buffer;
    bytes = bytes / 512 * 512;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return sum_avx512(p, bytes);
    if (__builtin_cpu_supports("avx2")) return sum_avx2(p, bytes);
#endif
    uint64_t s[8] = {0};
    for (size_t i = 0; i < bytes; i += 64)
        for (int j = 0; j < 8; j++) {
            uint64_t v;
            memcpy(&v, p + i + 8 * j, 8);
            s[j] += v;
        }
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}
