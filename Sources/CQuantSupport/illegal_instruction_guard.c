// The AMX self-check's guard: a kernel call that survives an illegal instruction (a CPU or OS that
// refuses the tile instructions raises SIGILL) and reports it instead of killing the process.
#define _GNU_SOURCE
#include "CQuantSupport.h"

#include <setjmp.h>
#include <signal.h>
#include <stddef.h>

static __thread sigjmp_buf *qf_guard_target;

static void qf_guard_handler(int signal_number) {
    (void)signal_number;
    if (qf_guard_target) siglongjmp(*qf_guard_target, 1);
}

int qf_call_matmul_kernel_guarded(const void *kernel, const qf_matmul_args *args, int execute_illegal_instruction) {
    sigjmp_buf target;
    struct sigaction action, previous;
    action.sa_handler = qf_guard_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_NODEFER;
    if (sigaction(SIGILL, &action, &previous) != 0) return -1;
    int faulted = 0;
    qf_guard_target = &target;
    if (sigsetjmp(target, 1) == 0) {
        if (execute_illegal_instruction) {
#if defined(__x86_64__)
            __asm__ volatile("ud2");
#else
            __builtin_trap();
#endif
        }
        qf_call_matmul_kernel(kernel, args);
    } else {
        faulted = 1;
    }
    qf_guard_target = NULL;
    sigaction(SIGILL, &previous, NULL);
    return faulted;
}
