/* The C API's header lives in include/quantforge.h; its functions are implemented in Swift
 * (Sources/QuantForgeC) and exported by the libquantforge shared library. */
#include "quantforge.h"
