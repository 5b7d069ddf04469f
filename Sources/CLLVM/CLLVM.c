#include "CLLVM.h"

int qf_llvm_major_version(void) { return LLVM_VERSION_MAJOR; }

void qf_llvm_initialize_targets(void) {
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    LLVMInitializeAllAsmParsers();
}
