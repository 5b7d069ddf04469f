#define _GNU_SOURCE
#include "CQuantSupport.h"

#include <errno.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/auxv.h>
#include <sys/syscall.h>
#endif
#if defined(__x86_64__)
#include <cpuid.h>
#endif

int qf_host_arch(void) {
#if defined(__x86_64__)
    return 1;
#elif defined(__aarch64__)
    return 2;
#else
    return 0;
#endif
}

int qf_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
#if defined(__x86_64__)
    uint32_t max = __get_cpuid_max(leaf & 0x80000000u, 0);
    if (leaf > max) { regs[0] = regs[1] = regs[2] = regs[3] = 0; return 0; }
    __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
    return 1;
#else
    (void)leaf; (void)subleaf;
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    return 0;
#endif
}

uint64_t qf_xgetbv(uint32_t index) {
#if defined(__x86_64__)
    uint32_t regs[4];
    if (!qf_cpuid(1, 0, regs) || !(regs[2] & (1u << 27))) return 0; /* OSXSAVE */
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(index));
    return ((uint64_t)edx << 32) | eax;
#else
    (void)index;
    return 0;
#endif
}

#define QF_ARCH_GET_XCOMP_PERM 0x1022
#define QF_ARCH_REQ_XCOMP_PERM 0x1023
#define QF_XFEATURE_XTILEDATA 18

int qf_request_amx_permission(void) {
#if defined(__x86_64__) && defined(__linux__)
    long rc = syscall(SYS_arch_prctl, QF_ARCH_REQ_XCOMP_PERM, QF_XFEATURE_XTILEDATA);
    return rc == 0 ? 0 : (errno ? errno : -1);
#else
    return -1;
#endif
}

uint64_t qf_amx_permitted_mask(void) {
#if defined(__x86_64__) && defined(__linux__)
    uint64_t mask = 0;
    if (syscall(SYS_arch_prctl, QF_ARCH_GET_XCOMP_PERM, &mask) != 0) return 0;
    return mask;
#else
    return 0;
#endif
}

uint64_t qf_hwcap(void) {
#if defined(__linux__)
    return getauxval(AT_HWCAP);
#else
    return 0;
#endif
}

uint64_t qf_hwcap2(void) {
#if defined(__linux__)
    return getauxval(AT_HWCAP2);
#else
    return 0;
#endif
}
