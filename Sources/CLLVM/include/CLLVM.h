// The parts of LLVM's C API that QuantForge uses (LLVM 14 and newer).
#ifndef QUANTFORGE_CLLVM_H
#define QUANTFORGE_CLLVM_H

#include <llvm/Config/llvm-config.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

/// The LLVM major version these headers belong to (the macro is not importable as a constant
/// everywhere, so it is exposed as a function).
int qf_llvm_major_version(void);
/// The full version of the LLVM headers, e.g. "14.0.6" (LLVM_VERSION_STRING).
const char *qf_llvm_version_string(void);

/// Initializes the native target, and every other target this LLVM was built with, once.
/// LLVMInitializeAll* are static inline in the headers, so they are called from C.
void qf_llvm_initialize_targets(void);

#endif
