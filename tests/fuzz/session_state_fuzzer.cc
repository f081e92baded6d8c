// libFuzzer target: session state files. Input: one flags byte, then the state image. The image
// is validated by ParseSessionState (every blob touched when it passes), then loaded into a
// session of the real stories260K model (fixtures), which checks it against the model, and one
// token is evaluated on top. Flags bit 0: first recompute the header and blob CRC-32C checksums
// (rebuilding the header), so that mutations reach the checks behind the checksums.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "fathom/model.h"
#include "fathom/session.h"
#include "fuzz_support.h"
#include "runtime/session_state.h"

namespace fathom::fuzz {
namespace {

uint32_t GetU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The image with correct checksums, or the image itself when its header cannot be read.
std::string FixChecksums(std::string image) {
  using internal::kSessionStatePrefixBytes;
  if (image.size() < kSessionStatePrefixBytes) return image;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(image.data());
  const uint64_t header_size = GetU32(p + 8);
  if (header_size > image.size() - kSessionStatePrefixBytes) return image;
  internal::state::SessionStateHeader h;
  if (!h.ParseFromArray(p + kSessionStatePrefixBytes, static_cast<int>(header_size))) return image;
  const std::string area = image.substr(kSessionStatePrefixBytes + header_size);
  for (internal::state::Blob& b : *h.mutable_blobs()) {
    if (b.offset() <= area.size() && b.size() <= area.size() - b.offset()) {
      b.set_crc32c(internal::Crc32c(area.data() + b.offset(), b.size()));
    }
  }
  std::string header;
  if (!h.SerializeToString(&header)) return image;
  std::string out(image.data(), 8);
  const uint32_t size = static_cast<uint32_t>(header.size());
  const uint32_t crc = internal::Crc32c(header.data(), header.size());
  out.append(reinterpret_cast<const char*>(&size), 4);
  out.append(reinterpret_cast<const char*>(&crc), 4);
  return out + header + area;
}

Session& TheSession() {
  static std::unique_ptr<Session> session = [] {
    const std::string path = FixturesDir() + "/stories260K/stories260K.gguf";
    auto model = Model::Load(path);
    if (!model.ok()) {
      std::fprintf(stderr, "cannot load %s: %s\n", path.c_str(), model.status().message().c_str());
      std::abort();
    }
    SessionOptions options;
    options.n_ctx = 64;
    options.n_threads = 1;
    auto s = Session::Create(*model, options);
    if (!s.ok()) std::abort();
    return std::move(*s);
  }();
  return *session;
}

// With $FATHOM_FUZZ_WRITE_SEEDS set: writes saved states of the session (empty, a few tokens,
// with logits and sampler state) there as seeds, in both flag variants.
void WriteSeeds(const char* dir) {
  Session& s = TheSession();
  s.Reset();
  int n = 0;
  auto save = [&] {
    auto image = s.SaveState();
    if (!image.ok()) std::abort();
    for (char flags : {'\0', '\1'}) {
      const std::string path = std::string(dir) + "/state-" + std::to_string(n++);
      FILE* f = std::fopen(path.c_str(), "wb");
      if (f == nullptr) std::abort();
      std::fputc(flags, f);
      std::fwrite(image->data(), 1, image->size(), f);
      std::fclose(f);
    }
  };
  save();
  if (!s.Evaluate({1, 400, 401}).ok()) std::abort();
  save();
  GenerateOptions g;
  g.max_tokens = 3;
  g.sampler.seed = 7;
  g.evaluate_last = true;
  if (!s.Generate({402}, g).ok()) std::abort();
  save();
  s.Reset();
}

}  // namespace
}  // namespace fathom::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fathom::fuzz::TheSession();
  if (const char* dir = std::getenv("FATHOM_FUZZ_WRITE_SEEDS"); dir != nullptr && *dir != '\0') {
    fathom::fuzz::WriteSeeds(dir);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  if (size < 1) return 0;
  std::string image(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) image = fuzz::FixChecksums(std::move(image));
  // An exact-size heap copy, so that ASan sees reads past the end.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[image.size()]);
  if (!image.empty()) std::memcpy(copy.get(), image.data(), image.size());
  auto parsed = internal::ParseSessionState(absl::MakeConstSpan(copy.get(), image.size()));
  if (!parsed.ok()) {
    fuzz::CheckCleanError(parsed.status());
  } else {
    for (const internal::state::Blob& b : parsed->header.blobs()) {
      if (b.size() > 0) fuzz::Consume(parsed->Data(b)[0] + parsed->Data(b)[b.size() - 1]);
    }
  }
  Session& session = fuzz::TheSession();
  session.Reset();  // every input starts from the same empty session
  Status st =
      session.LoadState(std::string_view(reinterpret_cast<const char*>(copy.get()), image.size()));
  if (!st.ok()) {
    if (st.message().empty() || st.code() == StatusCode::kInternal) std::abort();
    return 0;
  }
  Status ev = session.Evaluate({1});
  if (!ev.ok() && (ev.message().empty() || ev.code() == StatusCode::kInternal)) std::abort();
  return 0;
}
