// GGUF quantization: llama.cpp's per-tensor type rules (src/llama-quant.cpp,
// llama_tensor_get_type and the `quantize &= ...` filters of llama_model_quantize_impl) for the
// file types fathom can produce, and a streaming converter built on lib/tensor's quantizers
// (bit-identical to ggml's quantize_row_*_ref, which llama-quantize uses without an imatrix).
#include "format/gguf_quantize.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "format/gguf_reader.h"
#include "tensor/quant.h"

namespace fathom {
namespace {

struct FtypeName {
  std::string_view name;
  QuantFtype ftype;
};

constexpr std::array<FtypeName, 21> kFtypeNames = {{
    {"F32", QuantFtype::kAllF32},
    {"F16", QuantFtype::kF16},
    {"BF16", QuantFtype::kBF16},
    {"Q4_0", QuantFtype::kQ4_0},
    {"Q4_1", QuantFtype::kQ4_1},
    {"Q5_0", QuantFtype::kQ5_0},
    {"Q5_1", QuantFtype::kQ5_1},
    {"Q8_0", QuantFtype::kQ8_0},
    {"Q2_K", QuantFtype::kQ2_K},
    {"Q3_K_S", QuantFtype::kQ3_K_S},
    {"Q3_K_M", QuantFtype::kQ3_K_M},
    {"Q3_K_L", QuantFtype::kQ3_K_L},
    {"Q4_K_S", QuantFtype::kQ4_K_S},
    {"Q4_K_M", QuantFtype::kQ4_K_M},
    {"Q5_K_S", QuantFtype::kQ5_K_S},
    {"Q5_K_M", QuantFtype::kQ5_K_M},
    {"Q6_K", QuantFtype::kQ6_K},
    // llama-quantize's aliases.
    {"Q3_K", QuantFtype::kQ3_K_M},
    {"Q4_K", QuantFtype::kQ4_K_M},
    {"Q5_K", QuantFtype::kQ5_K_M},
    {"MOSTLY_F16", QuantFtype::kF16},
}};

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

// ggml_n_dims: the number of dimensions up to the last one that is not 1.
int NDims(const std::vector<int64_t>& dims) {
  int n = 1;
  for (size_t i = 1; i < dims.size(); ++i) {
    if (dims[i] > 1) n = static_cast<int>(i) + 1;
  }
  return n;
}

bool IsQuantized(DType t) {
  return t != DType::kF32 && t != DType::kF16 && t != DType::kBF16 && t != DType::kF64 &&
         t != DType::kI8 && t != DType::kI16 && t != DType::kI32 && t != DType::kI64;
}

bool UseMoreBits(int64_t i_layer, int64_t n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

}  // namespace

std::optional<QuantFtype> QuantFtypeFromName(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const FtypeName& f : kFtypeNames) {
    if (f.name == upper) return f.ftype;
  }
  return std::nullopt;
}

std::string_view QuantFtypeName(QuantFtype f) {
  for (const FtypeName& n : kFtypeNames) {
    if (n.ftype == f) return n.name;
  }
  return "?";
}

DType QuantFtypeDefaultType(QuantFtype f) {
  switch (f) {
    case QuantFtype::kAllF32:
      return DType::kF32;
    case QuantFtype::kF16:
      return DType::kF16;
    case QuantFtype::kBF16:
      return DType::kBF16;
    case QuantFtype::kQ4_0:
      return DType::kQ4_0;
    case QuantFtype::kQ4_1:
      return DType::kQ4_1;
    case QuantFtype::kQ5_0:
      return DType::kQ5_0;
    case QuantFtype::kQ5_1:
      return DType::kQ5_1;
    case QuantFtype::kQ8_0:
      return DType::kQ8_0;
    case QuantFtype::kQ2_K:
      return DType::kQ2_K;
    case QuantFtype::kQ3_K_S:
    case QuantFtype::kQ3_K_M:
    case QuantFtype::kQ3_K_L:
      return DType::kQ3_K;
    case QuantFtype::kQ4_K_S:
    case QuantFtype::kQ4_K_M:
      return DType::kQ4_K;
    case QuantFtype::kQ5_K_S:
    case QuantFtype::kQ5_K_M:
      return DType::kQ5_K;
    case QuantFtype::kQ6_K:
      return DType::kQ6_K;
  }
  return DType::kF32;
}

QuantTypeChooser::QuantTypeChooser(QuantFtype ftype, const QuantModelInfo& model, bool pure)
    : ftype_(ftype), model_(model), pure_(pure) {}

DType QuantTypeChooser::RuleType(const std::string& name, const std::vector<int64_t>& dims,
                                 DType new_type) {
  using F = QuantFtype;
  const F ft = ftype_;
  const bool falcon = model_.arch == "falcon";
  const int64_t n_gqa = model_.n_head_kv > 0 ? model_.n_head / model_.n_head_kv : 0;
  // layer_info: MoE models take the layer from the name (experts are not consecutive).
  auto layer_of = [&](int64_t counter) -> int64_t {
    if (model_.n_expert > 1) {
      int layer = -1;
      if (std::sscanf(name.c_str(), "blk.%d.", &layer) == 1) return layer;
    }
    return counter;
  };
  if (name == "output.weight" || (!model_.has_output && name == "token_embd.weight")) {
    const int64_t qk = Traits(new_type).block_size;
    if (falcon || dims[0] % qk != 0) {
      new_type = DType::kQ8_0;
    } else if (new_type != DType::kQ8_0) {
      new_type = DType::kQ6_K;
    }
  } else if (name == "token_embd.weight") {
    // No rule for the file types fathom writes.
  } else if (Contains(name, "attn_v.weight")) {
    if (ft == F::kQ2_K) {
      new_type = n_gqa >= 4 ? DType::kQ4_K : DType::kQ3_K;
    } else if (ft == F::kQ3_K_M) {
      new_type = i_attention_wv_ < 2 ? DType::kQ5_K : DType::kQ4_K;
    } else if (ft == F::kQ3_K_L) {
      new_type = DType::kQ5_K;
    } else if ((ft == F::kQ4_K_M || ft == F::kQ5_K_M) &&
               UseMoreBits(i_attention_wv_, model_.n_attention_wv)) {
      new_type = DType::kQ6_K;
    } else if (ft == F::kQ4_K_S && i_attention_wv_ < 4) {
      new_type = DType::kQ5_K;
    }
    // llama.cpp's LLM_TYPE_70B (llama with 80 layers): 8 heads share each attn_v.
    if (model_.arch == "llama" && model_.n_layer == 80 &&
        (new_type == DType::kQ3_K || new_type == DType::kQ4_K)) {
      new_type = DType::kQ5_K;
    }
    if (model_.n_expert == 8) new_type = DType::kQ8_0;
    ++i_attention_wv_;
  } else if (Contains(name, "attn_k.weight")) {
    if (model_.n_expert == 8) new_type = DType::kQ8_0;
  } else if (Contains(name, "attn_q.weight")) {
    // No rule for the file types fathom writes.
  } else if (Contains(name, "ffn_down")) {
    const int64_t i_layer = layer_of(i_ffn_down_), n_layer = model_.n_layer;
    if (ft == F::kQ2_K) {
      new_type = DType::kQ3_K;
    } else if (ft == F::kQ3_K_M) {
      new_type = i_layer < n_layer / 16                     ? DType::kQ5_K
                 : !falcon || UseMoreBits(i_layer, n_layer) ? DType::kQ4_K
                                                            : DType::kQ3_K;
    } else if (ft == F::kQ3_K_L) {
      new_type = falcon ? DType::kQ4_K : DType::kQ5_K;
    } else if (ft == F::kQ4_K_M) {
      if (falcon) {
        new_type = i_layer < n_layer / 16          ? DType::kQ6_K
                   : UseMoreBits(i_layer, n_layer) ? DType::kQ5_K
                                                   : DType::kQ4_K;
      } else if (UseMoreBits(i_layer, n_layer)) {
        new_type = DType::kQ6_K;
      }
    } else if (ft == F::kQ5_K_M && UseMoreBits(i_layer, n_layer)) {
      new_type = DType::kQ6_K;
    } else if (ft == F::kQ4_K_S && !falcon && i_layer < n_layer / 8) {
      new_type = DType::kQ5_K;
    }
    ++i_ffn_down_;
  } else if (Contains(name, "attn_output.weight")) {
    if (!falcon) {
      if (model_.n_expert == 8) {
        if (ft == F::kQ2_K || ft == F::kQ3_K_S || ft == F::kQ3_K_M || ft == F::kQ4_K_S ||
            ft == F::kQ4_K_M) {
          new_type = DType::kQ5_K;
        }
      } else {
        if (ft == F::kQ2_K)
          new_type = DType::kQ3_K;
        else if (ft == F::kQ3_K_M)
          new_type = DType::kQ4_K;
        else if (ft == F::kQ3_K_L)
          new_type = DType::kQ5_K;
      }
    } else if (ft == F::kQ3_K_L) {
      new_type = DType::kQ4_K;
    }
  } else if (Contains(name, "attn_qkv.weight")) {
    if (ft == F::kQ3_K_M || ft == F::kQ3_K_L)
      new_type = DType::kQ4_K;
    else if (ft == F::kQ4_K_M)
      new_type = DType::kQ5_K;
    else if (ft == F::kQ5_K_M)
      new_type = DType::kQ6_K;
  } else if (Contains(name, "ffn_gate")) {
    ++i_ffn_gate_;
  } else if (Contains(name, "ffn_up")) {
    ++i_ffn_up_;
  }
  return new_type;
}

absl::StatusOr<DType> QuantTypeChooser::Choose(const std::string& name,
                                               const std::vector<int64_t>& dims, DType type) {
  if (dims.empty()) return absl::InvalidArgumentError("quantize: tensor " + name + " has no dims");
  // llama_model_quantize_impl's filters.
  bool quantize = EndsWith(name, "weight") && NDims(dims) >= 2 && !Contains(name, "_norm.weight") &&
                  !Contains(name, "ffn_gate_inp.weight") && name != "position_embd.weight" &&
                  name != "token_types.weight" && !Contains(name, "ssm_conv1d.weight") &&
                  !Contains(name, "time_mix_") && !Contains(name, "attn_rel_b.weight");
  if (!quantize) return type;
  const DType default_type = QuantFtypeDefaultType(ftype_);
  DType new_type = default_type;
  if (!pure_ && IsQuantized(default_type)) {
    if (model_.n_expert > 1) {
      int layer = -1;
      const bool layered =
          Contains(name, "ffn_down") || Contains(name, "ffn_gate") || Contains(name, "ffn_up");
      if (layered && !name.starts_with("token_embd") && name != "output.weight" &&
          (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1 || layer < 0 ||
           layer >= model_.n_layer)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "quantize: cannot determine the layer of tensor %s (must be in [0, %d))", name,
            model_.n_layer));
      }
    }
    new_type = RuleType(name, dims, new_type);
    // Row lengths the chosen block type cannot hold fall back as llama.cpp does.
    if (dims[0] % Traits(new_type).block_size != 0) {
      switch (new_type) {
        case DType::kQ2_K:
        case DType::kQ3_K:
          new_type = DType::kIQ4_NL;
          break;
        case DType::kQ4_K:
          new_type = DType::kQ5_0;
          break;
        case DType::kQ5_K:
          new_type = DType::kQ5_1;
          break;
        case DType::kQ6_K:
          new_type = DType::kQ8_0;
          break;
        default:
          return absl::InvalidArgumentError(
              absl::StrFormat("quantize: tensor %s: rows of %d values do not fit %s blocks", name,
                              dims[0], Traits(new_type).name));
      }
      if (dims[0] % Traits(new_type).block_size != 0) new_type = DType::kF16;
    }
  } else if (dims[0] % Traits(new_type).block_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("quantize: tensor %s: rows of %d values do not fit %s blocks", name,
                        dims[0], Traits(new_type).name));
  }
  return new_type;
}

absl::Status EmitConvertedRows(DType type, int64_t rows, int64_t cols, const RowFiller& fill,
                               int threads, const GgufWriter::ByteEmitter& emit) {
  absl::StatusOr<uint64_t> row_bytes = RowBytes(type, cols);
  if (!row_bytes.ok()) return row_bytes.status();
  threads = std::max(1, threads);
  // Chunks of about 16 MiB of float32 input, split over the threads, emitted in order.
  const int64_t chunk_rows =
      std::max<int64_t>(threads, (int64_t{16} << 20) / std::max<int64_t>(1, cols * 4));
  std::vector<float> f32(static_cast<size_t>(std::min(chunk_rows, rows) * cols));
  std::vector<uint8_t> out(static_cast<size_t>(std::min(chunk_rows, rows)) * *row_bytes);
  for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - r0);
    std::vector<absl::Status> status(threads);
    auto work = [&](int t) {
      const int64_t a = n * t / threads, b = n * (t + 1) / threads;
      if (a == b) return;
      absl::Status s = fill(r0 + a, b - a, f32.data() + a * cols);
      for (int64_t r = a; s.ok() && r < b; ++r) {
        s = Quantize(type, f32.data() + r * cols, out.data() + r * *row_bytes, cols);
      }
      status[t] = s;
    };
    if (threads == 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
      for (std::thread& th : pool) th.join();
    }
    for (const absl::Status& s : status) {
      if (!s.ok()) return s;
    }
    if (absl::Status s = emit(out.data(), static_cast<uint64_t>(n) * *row_bytes); !s.ok()) return s;
  }
  return absl::OkStatus();
}

namespace {

int64_t OptionalInt(const GgufFile& g, const std::string& key) {
  if (g.Find(key) == nullptr) return 0;
  absl::StatusOr<int64_t> v = g.GetInt(key);
  return v.ok() ? *v : 0;
}

}  // namespace

absl::Status QuantizeGgufFile(const std::string& in_path, const std::string& out_path,
                              const QuantizeOptions& options) {
  absl::StatusOr<std::unique_ptr<GgufFile>> opened = GgufFile::Open(in_path);
  if (!opened.ok()) return opened.status();
  const GgufFile& in = **opened;

  QuantModelInfo info;
  absl::StatusOr<std::string> arch = in.GetString("general.architecture");
  if (!arch.ok())
    return absl::InvalidArgumentError("quantize: " + std::string(arch.status().message()));
  info.arch = *arch;
  const std::string a = info.arch + ".";
  info.n_layer = OptionalInt(in, a + "block_count");
  info.n_expert = OptionalInt(in, a + "expert_count");
  info.n_head = OptionalInt(in, a + "attention.head_count");
  info.n_head_kv = OptionalInt(in, a + "attention.head_count_kv");
  if (info.n_head_kv == 0) info.n_head_kv = info.n_head;
  for (const GgufTensorInfo& t : in.tensor_infos()) {
    if (Contains(t.name, "attn_v.weight") || Contains(t.name, "attn_qkv.weight") ||
        Contains(t.name, "attn_kv_b.weight")) {
      ++info.n_attention_wv;
    } else if (t.name == "output.weight") {
      info.has_output = true;
    }
  }

  GgufWriter out(in.alignment());
  for (const GgufKeyValue& kv : in.metadata()) {
    // The writer derives general.alignment from its alignment; llama-quantize moves the two
    // keys it sets to the end.
    if (kv.key == "general.alignment" || kv.key == "general.quantization_version" ||
        kv.key == "general.file_type") {
      continue;
    }
    out.SetValue(kv.key, kv.value);
  }
  out.SetUint32("general.quantization_version", 2);
  out.SetUint32("general.file_type", static_cast<uint32_t>(options.ftype));

  // llama-quantize visits (and writes) tensors ordered by layer (-1 for non-layer tensors), then
  // by name (llama_model_loader::weight_name_comparer); the type rules count in that order.
  std::vector<const GgufTensorInfo*> order;
  for (const GgufTensorInfo& t : in.tensor_infos()) order.push_back(&t);
  auto layer_of = [](const std::string& name) {
    int layer = -1;
    std::sscanf(name.c_str(), "blk.%d.", &layer);
    return layer;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const GgufTensorInfo* x, const GgufTensorInfo* y) {
                     const int lx = layer_of(x->name), ly = layer_of(y->name);
                     if (lx != ly) return lx < ly;
                     return x->name < y->name;
                   });

  QuantTypeChooser chooser(options.ftype, info, options.pure);
  const int threads = std::max(1, options.threads);
  for (const GgufTensorInfo* tp : order) {
    const GgufTensorInfo& t = *tp;
    absl::StatusOr<TensorView> view = in.GetTensor(t.name);
    if (!view.ok()) return view.status();
    absl::StatusOr<DType> target = chooser.Choose(t.name, t.dims, t.type);
    if (!target.ok()) return target.status();
    if (options.on_tensor) options.on_tensor(t.name, t.type, *target);
    const uint8_t* data = view->data;
    const uint64_t n_bytes = view->n_bytes;
    absl::Status s;
    if (*target == t.type) {
      s = out.AddTensorProducer(
          t.name, t.type, t.dims,
          [data, n_bytes](const GgufWriter::ByteEmitter& emit) { return emit(data, n_bytes); });
    } else {
      if (t.type != DType::kF32 && t.type != DType::kF16 && t.type != DType::kBF16) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "quantize: tensor %s is %s; only F32, F16 and BF16 tensors can be converted (to %s)",
            t.name, Traits(t.type).name, Traits(*target).name));
      }
      const DType src_type = t.type, dst_type = *target;
      const int64_t cols = t.dims[0], rows = t.n_elements / cols;
      const uint64_t src_row_bytes = *RowBytes(src_type, cols);
      s = out.AddTensorProducer(t.name, dst_type, t.dims, [=](const GgufWriter::ByteEmitter& emit) {
        RowFiller fill = [&](int64_t first, int64_t n, float* dst) -> absl::Status {
          return Dequantize(src_type, data + first * src_row_bytes, dst, n * cols);
        };
        return EmitConvertedRows(dst_type, rows, cols, fill, threads, emit);
      });
    }
    if (!s.ok()) return s;
  }
  return out.WriteFile(out_path);
}

}  // namespace fathom
