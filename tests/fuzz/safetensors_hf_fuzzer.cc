// libFuzzer target: Hugging Face checkpoints from bytes. The input is
//   [u16 LE n][config.json: n bytes][u16 LE m][model.safetensors.index.json: m bytes][safetensors]
// The safetensors bytes are parsed in memory; config.json is checked and read as a DeepSeek
// config; then the three are written into a private folder under /dev/shm (or $TMPDIR) and opened
// as a checkpoint folder (with an index when m > 0: the shard is model-00001-of-00001.safetensors).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "format/hf_checkpoint.h"
#include "format/mapped_file.h"
#include "format/safetensors_reader.h"
#include "fuzz_support.h"
#include "models/deepseek/deepseek_config.h"
#include "nlohmann/json.hpp"

namespace fathom::fuzz {
namespace {

const std::string& Folder() {
  static const std::string folder = [] {
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/fathom-fuzz-hf-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    return tmpl;
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] {
      for (const char* f : {"/config.json", "/model.safetensors.index.json",
                            "/model-00001-of-00001.safetensors", "/model.safetensors"}) {
        std::remove((folder + f).c_str());
      }
      rmdir(folder.c_str());
    });
    return true;
  }();
  (void)cleanup_registered;
  return folder;
}

void WriteOrRemove(const std::string& path, std::string_view bytes, bool present) {
  if (!present) {
    std::remove(path.c_str());
    return;
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
}

std::string_view TakePrefixed(std::string_view& in) {
  if (in.size() < 2) {
    in = {};
    return {};
  }
  size_t n = static_cast<uint8_t>(in[0]) | (static_cast<size_t>(static_cast<uint8_t>(in[1])) << 8);
  in.remove_prefix(2);
  if (n > in.size()) n = in.size();
  std::string_view part = in.substr(0, n);
  in.remove_prefix(n);
  return part;
}

void TouchTensor(const SafetensorsTensor& t) {
  if (t.n_bytes == 0) return;
  Consume(t.data[0] + t.data[t.n_bytes - 1]);
}

}  // namespace
}  // namespace fathom::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fathom;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view config = fuzz::TakePrefixed(in);
  std::string_view index = fuzz::TakePrefixed(in);
  std::string_view shard = in;

  auto st = SafetensorsFile::Parse(MappedFile::FromBuffer(shard.data(), shard.size()));
  if (st.ok()) {
    for (const SafetensorsTensor& t : (*st)->tensors()) fuzz::TouchTensor(t);
  } else {
    fuzz::CheckCleanError(st.status());
  }

  absl::Status json_ok = CheckJsonText(config, 64, false);
  fuzz::CheckCleanError(json_ok);
  if (json_ok.ok()) {
    nlohmann::json j = nlohmann::json::parse(config, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) std::abort();  // CheckJsonText accepted text nlohmann rejects
    auto ds = internal::DeepSeekConfig::FromHfConfig(j);
    if (!ds.ok()) fuzz::CheckCleanError(ds.status());
  }

  const std::string& dir = fuzz::Folder();
  const bool sharded = !index.empty();
  fuzz::WriteOrRemove(dir + "/config.json", config, true);
  fuzz::WriteOrRemove(dir + "/model.safetensors.index.json", index, sharded);
  fuzz::WriteOrRemove(dir + "/model-00001-of-00001.safetensors", shard, sharded);
  fuzz::WriteOrRemove(dir + "/model.safetensors", shard, !sharded);
  auto ckpt = HfCheckpoint::Open(dir);
  if (!ckpt.ok()) {
    fuzz::CheckCleanError(ckpt.status());
    return 0;
  }
  for (const std::string& name : (*ckpt)->TensorNames()) {
    const SafetensorsTensor* t = (*ckpt)->Find(name);
    if (t == nullptr) std::abort();
    fuzz::TouchTensor(*t);
  }
  return 0;
}
