// The parts of LLVM's C API that QuantForge uses (LLVM 14 and newer).
//
// Included by the module map of the LLVM version the manifest picked (llvm-NN/module.modulemap),
// whose folder links Debian's /usr/include/llvm-c-NN/llvm-c and /usr/include/llvm-NN/llvm so that
// these includes resolve without compiler flags.
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

#endif
