// simclr::eval embedding export: features + labels to safetensors or CSV (atomic writes), and reading them back.
#pragma once

// Formats:
//  - safetensors (io::write_safetensors): tensor "embeddings" F32 (N, D), tensor "labels" I32
//    (N), plus string metadata (e.g. {"encoder": "resnet18", "split": "test"}). Loads in Python
//    with `safetensors.numpy.load_file(path)`.
//  - CSV: a header line `label,f0,f1,...,f{D-1}`, then one line per row: the label, then D
//    floats printed with 9 significant digits (%.9g: reads back to the same float). '\n' line
//    ends, no quoting, C locale.
// Both writers are atomic: the bytes go to a temporary file in the target's directory which is
// renamed over the target, so a reader never sees a half-written file.

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <simclr/error.hpp>
#include <simclr/io/safetensors.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::eval {

/// Features with their labels, as read back from an export.
struct embeddings {
  tensor<float, cpu_t> features;       ///< (N, D)
  tensor<std::int32_t, cpu_t> labels;  ///< (N)
  std::map<std::string, std::string> metadata;  ///< safetensors "__metadata__" (empty for CSV)
};

namespace detail {
inline void expect_embeddings(tensor_view<const float, cpu_t> f,
                              tensor_view<const std::int32_t, cpu_t> y, const char* what) {
  if (f.rank() != 2 || !f.is_contiguous())
    throw shape_error(std::string("simclr: ") + what + ": features have shape " +
                      f.shape().to_string() + ", expected contiguous (N, D)");
  if (y.rank() != 1 || y.extent(0) != f.extent(0) || !y.is_contiguous())
    throw shape_error(std::string("simclr: ") + what + ": labels have shape " +
                      y.shape().to_string() + ", expected (" + std::to_string(f.extent(0)) + ")");
}
}  // namespace detail

/// Writes "embeddings" F32 (N, D) and "labels" I32 (N) to a safetensors file, atomically (see
/// io::write_safetensors). Throws shape_error for mismatched shapes, io_error naming `path`.
inline void write_embeddings(const std::filesystem::path& path,
                             tensor_view<const float, cpu_t> features,
                             tensor_view<const std::int32_t, cpu_t> labels,
                             const std::map<std::string, std::string>& metadata = {}) {
  detail::expect_embeddings(features, labels, "eval::write_embeddings");
  io::write_safetensors(path, {io::entry<float>("embeddings", features),
                               io::entry<std::int32_t>("labels", labels)},
                        metadata);
}

/// Reads a file written by write_embeddings. Throws io_error naming the file when a tensor is
/// missing or has the wrong dtype or rank, or the row counts differ.
[[nodiscard]] inline embeddings read_embeddings(const std::filesystem::path& path) {
  const io::safetensors_file f = io::read_safetensors(path);
  if (!f.contains("embeddings") || !f.contains("labels"))
    throw io_error(path.string(), "expected tensors \"embeddings\" (F32, (N, D)) and \"labels\" "
                                  "(I32, (N)) as write_embeddings stores them");
  embeddings e;
  e.features = f.get<float>("embeddings");
  e.labels = f.get<std::int32_t>("labels");
  e.metadata = f.metadata();
  if (e.features.rank() != 2 || e.labels.rank() != 1 || e.labels.extent(0) != e.features.extent(0))
    throw io_error(path.string(), "tensor \"embeddings\" has shape " +
                                      e.features.shape().to_string() + " and \"labels\" " +
                                      e.labels.shape().to_string() + ", expected (N, D) and (N)");
  return e;
}

/// Writes `label,f0,...` CSV (module comment), atomically: a temporary file next to `path`,
/// renamed over it when complete. Throws shape_error for mismatched shapes, io_error naming
/// `path` when writing fails (the temporary file is removed).
inline void write_embeddings_csv(const std::filesystem::path& path,
                                 tensor_view<const float, cpu_t> features,
                                 tensor_view<const std::int32_t, cpu_t> labels) {
  detail::expect_embeddings(features, labels, "eval::write_embeddings_csv");
  if (!path.has_filename()) throw io_error(path.string(), "names a directory, expected a file path");
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const std::filesystem::path tmp =
      dir / ("." + path.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter.fetch_add(1)));
  std::FILE* out = std::fopen(tmp.c_str(), "wx");
  if (out == nullptr)
    throw io_error(path.string(), "cannot create the temporary file " + tmp.string() + " (" +
                                      std::strerror(errno) + "); the file is unchanged");
  const index_t n = features.extent(0), d = features.extent(1);
  bool ok = std::fputs("label", out) >= 0;
  for (index_t j = 0; ok && j < d; ++j) ok = std::fprintf(out, ",f%lld", static_cast<long long>(j)) > 0;
  ok = ok && std::fputc('\n', out) != EOF;
  for (index_t i = 0; ok && i < n; ++i) {
    ok = std::fprintf(out, "%d", static_cast<int>(labels.data()[i])) > 0;
    for (index_t j = 0; ok && j < d; ++j)
      ok = std::fprintf(out, ",%.9g", static_cast<double>(features.data()[i * d + j])) > 0;
    ok = ok && std::fputc('\n', out) != EOF;
  }
  const int write_errno = errno;
  ok = ok && std::fflush(out) == 0 && ::fsync(::fileno(out)) == 0;
  const bool closed = std::fclose(out) == 0;
  if (!ok || !closed) {
    std::remove(tmp.c_str());
    throw io_error(path.string(), std::string("writing the CSV failed (") +
                                      std::strerror(write_errno != 0 ? write_errno : errno) +
                                      "); the file is unchanged");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw io_error(path.string(), std::string("cannot rename the temporary file over it (") +
                                      std::strerror(e) + "); the file is unchanged");
  }
}

}  // namespace simclr::eval
