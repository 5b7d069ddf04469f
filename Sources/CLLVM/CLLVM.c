// CLLVM is a C target only so that SwiftPM puts the chosen llvm-NN folder on the include path of
// every module that imports it; the API itself is LLVM's (CLLVM.h). Each llvm-NN folder links this file.
#include "CLLVM.h"
