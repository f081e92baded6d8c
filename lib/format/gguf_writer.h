// GGUF v3 writer: metadata and tensors, aligned as llama.cpp expects.
#ifndef FATHOM_LIB_FORMAT_GGUF_WRITER_H_
#define FATHOM_LIB_FORMAT_GGUF_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "format/gguf.h"

namespace fathom {

class GgufWriter {
 public:
  explicit GgufWriter(uint64_t alignment = 32) : alignment_(alignment) {}

  void SetString(const std::string& key, const std::string& v);
  void SetUint32(const std::string& key, uint32_t v);
  void SetInt32(const std::string& key, int32_t v);
  void SetUint64(const std::string& key, uint64_t v);
  void SetFloat32(const std::string& key, float v);
  void SetBool(const std::string& key, bool v);
  void SetStringArray(const std::string& key, const std::vector<std::string>& v);
  void SetFloat32Array(const std::string& key, const std::vector<float>& v);
  void SetInt32Array(const std::string& key, const std::vector<int32_t>& v);
  void SetValue(const std::string& key, const GgufValue& v);  // any value, nested arrays too

  // Adds a tensor; `data` must hold exactly RowBytes(type, dims[0]) * prod(dims[1..]) bytes.
  absl::Status AddTensor(const std::string& name, DType type, const std::vector<int64_t>& dims,
                         const void* data, uint64_t n_bytes);

  // Adds a tensor whose bytes are produced only when the file is written, so files larger than
  // memory can be streamed: `producer` must pass exactly the tensor's byte count to `emit`, in
  // order, in as many pieces as it likes. It may be called more than once (once per write).
  using ByteEmitter = std::function<absl::Status(const void* data, uint64_t n)>;
  using TensorProducer = std::function<absl::Status(const ByteEmitter& emit)>;
  absl::Status AddTensorProducer(const std::string& name, DType type,
                                 const std::vector<int64_t>& dims, TensorProducer producer);

  // Serializes the whole file.
  absl::StatusOr<std::vector<uint8_t>> Serialize() const;
  absl::Status WriteFile(const std::string& path) const;

 private:
  struct PendingTensor {
    GgufTensorInfo info;
    std::vector<uint8_t> data;  // used when `producer` is empty
    TensorProducer producer;
  };
  // Checks a new tensor's name, type and shape; fills `info` (offset excluded).
  absl::Status CheckTensor(const std::string& name, DType type, const std::vector<int64_t>& dims,
                           GgufTensorInfo* info) const;
  // Everything before the tensor data (header, metadata, tensor infos, padding).
  absl::StatusOr<std::vector<uint8_t>> SerializeHeader() const;
  // Passes tensor `t`'s bytes to `emit`, checking the producer's byte count.
  absl::Status EmitTensor(const PendingTensor& t, const ByteEmitter& emit) const;
  uint64_t alignment_;
  std::vector<GgufKeyValue> kvs_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace fathom

#endif  // FATHOM_LIB_FORMAT_GGUF_WRITER_H_
