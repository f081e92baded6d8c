// WriteSafetensors and WriteByteLevelTokenizer (see the header).
#include "support/hf_folder_writer.h"

#include <fstream>

#include "nlohmann/json.hpp"

namespace fathom::testing {

bool WriteSafetensors(const std::string& path, const std::vector<RawTensor>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t offset = 0;
  for (const RawTensor& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = text.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(reinterpret_cast<const char*>(len), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  for (const RawTensor& t : tensors) {
    out.write(reinterpret_cast<const char*>(t.bytes.data()),
              static_cast<std::streamsize>(t.bytes.size()));
  }
  return static_cast<bool>(out);
}

bool WriteByteLevelTokenizer(const std::string& dir, const std::vector<std::string>& tokens,
                             const std::vector<int64_t>& types,
                             const std::vector<std::string>& merges, int64_t bos, int64_t eos,
                             bool add_bos) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i < types.size() && types[i] == 3) {
      added.push_back({{"id", i},
                       {"content", tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", true}});
    } else {
      vocab[tokens[i]] = i;
    }
  }
  const nlohmann::ordered_json byte_level = {{"type", "ByteLevel"},
                                             {"add_prefix_space", false},
                                             {"trim_offsets", true},
                                             {"use_regex", true}};
  nlohmann::ordered_json tj = {{"version", "1.0"},
                               {"truncation", nullptr},
                               {"padding", nullptr},
                               {"added_tokens", added},
                               {"normalizer", nullptr},
                               {"pre_tokenizer", byte_level},
                               {"post_processor", byte_level},
                               {"decoder", byte_level},
                               {"model",
                                {{"type", "BPE"},
                                 {"dropout", nullptr},
                                 {"unk_token", nullptr},
                                 {"continuing_subword_prefix", nullptr},
                                 {"end_of_word_suffix", nullptr},
                                 {"fuse_unk", false},
                                 {"byte_fallback", false},
                                 {"vocab", vocab},
                                 {"merges", merges}}}};
  nlohmann::ordered_json config = {{"add_bos_token", add_bos}};
  if (bos >= 0) config["bos_token"] = tokens[bos];
  if (eos >= 0) config["eos_token"] = tokens[eos];
  std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << tj.dump();
  std::ofstream out(dir + "/tokenizer_config.json", std::ios::trunc);
  out << config.dump();
  return static_cast<bool>(out);
}

}  // namespace fathom::testing
