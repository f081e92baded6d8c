// GgufFileType and GgufTensorSink (see the header); moved here from the deepseek2 exporter.
#include "models/gguf_export_util.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "absl/strings/str_format.h"
#include "format/gguf_quantize.h"
#include "runtime/status_macros.h"
#include "tensor/quant.h"

namespace fathom::internal {

// llama.cpp's llama_ftype (general.file_type) of a file whose weight matrices are mostly `t`;
// also the list of export types.
absl::StatusOr<uint32_t> GgufFileType(DType t) {
  switch (t) {
    case DType::kF32:
      return 0;  // ALL_F32
    case DType::kF16:
      return 1;
    case DType::kQ4_0:
      return 2;
    case DType::kQ4_1:
      return 3;
    case DType::kQ8_0:
      return 7;
    case DType::kQ5_0:
      return 8;
    case DType::kQ5_1:
      return 9;
    case DType::kQ2_K:
      return 10;
    case DType::kQ3_K:
      return 11;  // Q3_K_S
    case DType::kQ4_K:
      return 14;  // Q4_K_S
    case DType::kQ5_K:
      return 16;  // Q5_K_S
    case DType::kQ6_K:
      return 18;
    case DType::kIQ4_NL:
      return 25;
    case DType::kIQ4_XS:
      return 30;
    case DType::kBF16:
      return 32;
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "GGUF export: weight type %s is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, "
          "Q5_0, Q5_1, Q2_K..Q6_K, IQ4_NL, IQ4_XS are)",
          Traits(t).name));
  }
}

absl::Status GgufTensorSink::Write(const std::string& name, const std::vector<WeightMatrix>& ws,
                                   bool transpose, bool stacked, bool keep_f32,
                                   const std::vector<int64_t>* row_order) {
  if (ws.empty()) return absl::InternalError("GGUF export: no matrices for " + name);
  const int64_t rows = ws[0].rows, cols = ws[0].cols;
  if (rows <= 0 || cols <= 0) return absl::InternalError("GGUF export: empty matrix " + name);
  const int64_t out_rows = transpose ? cols : rows, row_len = transpose ? rows : cols;
  DType type = keep_f32 ? DType::kF32 : weight_type_;
  if (row_len % Traits(type).block_size != 0) type = DType::kF16;  // as llama.cpp falls back
  FATHOM_ASSIGN_OR_RETURN(const uint64_t row_bytes, RowBytes(type, row_len));
  if (row_order != nullptr && (transpose || static_cast<int64_t>(row_order->size()) != rows)) {
    return absl::InternalError("GGUF export: bad row order for " + name);
  }
  for (const WeightMatrix& w : ws) {
    if (w.rows != rows || w.cols != cols) {
      return absl::InternalError("GGUF export: stacked matrices differ in shape for " + name);
    }
  }
  std::vector<int64_t> dims = {row_len, out_rows};
  if (stacked) dims.push_back(static_cast<int64_t>(ws.size()));
  if (!transpose) {
    // Streamed when the file is written (the matrices point into the mapped checkpoint, which
    // outlives the writer), on all cores, so a model larger than memory can be converted.
    std::vector<int64_t> order = row_order != nullptr ? *row_order : std::vector<int64_t>();
    const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return g_.AddTensorProducer(
        name, type, dims,
        [ws, order, type, rows, cols, threads, name](const GgufWriter::ByteEmitter& emit) {
          const RowFiller fill = [&](int64_t first, int64_t n, float* out) -> absl::Status {
            for (int64_t i = 0; i < n; ++i) {
              const int64_t g = first + i, r = g % rows;
              DequantizeRow(ws[g / rows], order.empty() ? r : order[r], out + i * cols);
            }
            return absl::OkStatus();
          };
          absl::Status s = EmitConvertedRows(type, rows * static_cast<int64_t>(ws.size()), cols,
                                             fill, threads, emit);
          if (!s.ok()) {
            return absl::Status(s.code(),
                                absl::StrFormat("GGUF export: tensor '%s': %s", name, s.message()));
          }
          return s;
        });
  }
  // Transposed (small per-head matrices): assembled now.
  std::vector<uint8_t> data(row_bytes * out_rows * ws.size());
  std::vector<float> whole(rows * cols), row(row_len);
  uint8_t* dst = data.data();
  for (const WeightMatrix& w : ws) {
    for (int64_t r = 0; r < rows; ++r) DequantizeRow(w, r, &whole[r * cols]);
    for (int64_t r = 0; r < out_rows; ++r) {
      for (int64_t k = 0; k < row_len; ++k) row[k] = whole[k * cols + r];
      absl::Status s = Quantize(type, row.data(), dst, row_len);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("GGUF export: tensor '%s' row %d: %s", name, r, s.message()));
      }
      dst += row_bytes;
    }
  }
  return g_.AddTensor(name, type, dims, data.data(), data.size());
}

}  // namespace fathom::internal

namespace fathom::internal {

absl::Status WriteGgufFile(const GgufWriter& g, const std::string& path) {
  absl::Status s = g.WriteFile(path);
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  return s;
}

}  // namespace fathom::internal
