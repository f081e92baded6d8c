// <immintrin.h> for the files that use AVX-512 intrinsics. GCC 12's AVX-512 intrinsics initialise
// their "undefined" operands from themselves, which its -Wuninitialized reports at every use (GCC
// bug 105593, fixed in GCC 13); the warnings are turned off for the including file.
#ifndef FATHOM_LIB_KERNELS_AVX512_INTRINSICS_H_
#define FATHOM_LIB_KERNELS_AVX512_INTRINSICS_H_

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#endif  // FATHOM_LIB_KERNELS_AVX512_INTRINSICS_H_
