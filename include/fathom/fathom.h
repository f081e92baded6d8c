// Umbrella header of fathom's C++ API.
#ifndef FATHOM_FATHOM_H_
#define FATHOM_FATHOM_H_

#include "fathom/model.h"
#include "fathom/sampler.h"
#include "fathom/session.h"
#include "fathom/status.h"
#include "fathom/tokenizer.h"

namespace fathom {
const char* VersionString();
}

#endif  // FATHOM_FATHOM_H_
