#include "CLLVM.h"

int qf_llvm_major_version(void) { return LLVM_VERSION_MAJOR; }

const char *qf_llvm_version_string(void) { return LLVM_VERSION_STRING; }

void qf_llvm_initialize_targets(void) {
    LLVMInitializeAllTargetInfos();
    LLVMInitializeAllTargets();
    LLVMInitializeAllTargetMCs();
    LLVMInitializeAllAsmPrinters();
    LLVMInitializeAllAsmParsers();
}
