// Early-return helpers for absl::Status / absl::StatusOr, shared by every internal module.
#ifndef FATHOM_LIB_RUNTIME_STATUS_MACROS_H_
#define FATHOM_LIB_RUNTIME_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FATHOM_STATUS_CONCAT_INNER(a, b) a##b
#define FATHOM_STATUS_CONCAT(a, b) FATHOM_STATUS_CONCAT_INNER(a, b)

// Returns the status of `expr` from the current function if it is not OK.
#define FATHOM_RETURN_IF_ERROR(expr)       \
  do {                                     \
    const absl::Status _fathom_s = (expr); \
    if (!_fathom_s.ok()) return _fathom_s; \
  } while (0)

// `lhs = value of expr`, or returns its error status.
#define FATHOM_ASSIGN_OR_RETURN(lhs, expr) \
  FATHOM_ASSIGN_OR_RETURN_IMPL(FATHOM_STATUS_CONCAT(_fathom_r, __LINE__), lhs, expr)
#define FATHOM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = *std::move(tmp)

#endif  // FATHOM_LIB_RUNTIME_STATUS_MACROS_H_
