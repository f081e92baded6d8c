// Streaming split of "<think>...</think>" reasoning from answer text; the class is public
// (fathom/reasoning.h) and implemented in the tokenizer area, which it needs nothing from.
#ifndef FATHOM_LIB_TOKENIZER_REASONING_SPLITTER_H_
#define FATHOM_LIB_TOKENIZER_REASONING_SPLITTER_H_

#include "fathom/reasoning.h"

#endif  // FATHOM_LIB_TOKENIZER_REASONING_SPLITTER_H_
