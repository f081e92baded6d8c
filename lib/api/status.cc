// fathom::Status helpers and the absl -> public status bridge.
#include "absl/status/status.h"

#include "absl/strings/str_cat.h"
#include "api/model_impl.h"
#include "fathom/fathom.h"

namespace fathom {

std::string Status::ToString() const {
  if (ok()) return "OK";
  return absl::StrCat("code ", static_cast<int>(code_), ": ", message_);
}

const char* VersionString() { return "fathom 0.1.0"; }

namespace internal {
Status FromAbsl(const absl::Status& s) {
  if (s.ok()) return Status();
  return Status(static_cast<StatusCode>(static_cast<int>(s.code())), std::string(s.message()));
}
}  // namespace internal

}  // namespace fathom
