// AMX detection (see amx.h).
#include "kernels/amx.h"

#include <cpuid.h>

#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace fathom {
namespace {

bool Detect() {
  const char* env = std::getenv("FATHOM_AMX");
  if (env != nullptr && std::strcmp(env, "0") == 0) return false;
  unsigned a, b, c, d;
  if (__get_cpuid_max(0, nullptr) < 7) return false;
  __cpuid_count(7, 0, a, b, c, d);
  const bool tile = (d >> 24) & 1, int8 = (d >> 25) & 1;
  if (!tile || !int8) return false;
  // The OS must manage extended state (XSAVE); AVX-512 VNNI, which the kernels finish with, is
  // checked by their callers (the AMX path is part of the VNNI one).
  __cpuid(1, a, b, c, d);
  if (((c >> 27) & 1) == 0) return false;  // OSXSAVE
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

}  // namespace

bool AmxInt8Available() {
  static const bool available = Detect();
  return available;
}

}  // namespace fathom
