// Intel AMX (Advanced Matrix Extensions) availability for the int8 tile kernels: the CPU's
// AMX-TILE and AMX-INT8 bits, and Linux's permission to use tile data (arch_prctl
// ARCH_REQ_XCOMP_PERM, asked once per process). FATHOM_AMX=0 in the environment turns AMX off,
// so that the AVX-512 kernels can be measured on the same machine.
#ifndef FATHOM_LIB_KERNELS_AMX_H_
#define FATHOM_LIB_KERNELS_AMX_H_

namespace fathom {

bool AmxInt8Available();

}  // namespace fathom

#endif  // FATHOM_LIB_KERNELS_AMX_H_
