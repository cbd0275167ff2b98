// simclr::data::dataset: labelled 8-bit images in memory, subsets (first/random/class-balanced) and float batches.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <simclr/augment/image.hpp>
#include <simclr/error.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::data {

/// Which half of a data set with a fixed train/test split.
enum class split { train, test };

/// A labelled image data set held in memory; the readers (read_idx, read_cifar_binary,
/// read_image_folder) return one, and it is its own cache: load once, index many times.
/// Invariants (checked by validate()): images (N, H, W, C) with C = 1 or 3, labels (N) with
/// values in [0, num_classes), class_names empty or of size num_classes.
struct dataset {
  tensor<std::uint8_t, cpu_t> images{shape{0, 0, 0, 1}};  ///< (N, H, W, C), interleaved, C = 1 or 3
  tensor<std::int32_t, cpu_t> labels{shape{0}};           ///< (N), in [0, num_classes)
  index_t num_classes = 0;                                 ///< number of classes (labels < this)
  std::vector<std::string> class_names;                    ///< name of each label id, or empty

  /// Number of images N.
  [[nodiscard]] index_t size() const { return images.rank() == 4 ? images.extent(0) : 0; }
  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] index_t height() const { return images.extent(1); }
  [[nodiscard]] index_t width() const { return images.extent(2); }
  [[nodiscard]] index_t channels() const { return images.extent(3); }

  /// Image `i` as a read-only (H, W, C) view into `images` (no copy; valid while the data set
  /// lives and is not reassigned).
  [[nodiscard]] tensor_view<const std::uint8_t, cpu_t> image_view(index_t i) const {
    check_index(i);
    return tensor_view<const std::uint8_t, cpu_t>(
        images.data() + i * height() * width() * channels(),
        shape{height(), width(), channels()});
  }
  /// Image `i` as an owning (H, W, C) augment::image_u8, ready for the augmentations
  /// (augment::to_float gives the (C, H, W) float image).
  [[nodiscard]] augment::image_u8 image(index_t i) const {
    return augment::image_u8(image_view(i));
  }
  /// Label of image `i`.
  [[nodiscard]] std::int32_t label(index_t i) const {
    check_index(i);
    return labels.data()[i];
  }

  /// Throws value_error unless the invariants above hold (shapes, label range, names).
  void validate() const {
    if (images.rank() != 4 || (images.extent(3) != 1 && images.extent(3) != 3))
      throw value_error("simclr: data::dataset::images has shape " + images.shape().to_string() +
                        ", expected (N, H, W, C) with C = 1 or 3");
    if (labels.rank() != 1 || labels.extent(0) != images.extent(0))
      throw value_error("simclr: data::dataset::labels has shape " + labels.shape().to_string() +
                        ", expected (" + std::to_string(images.extent(0)) + ")");
    if (num_classes < 0 || (num_classes == 0 && size() > 0))
      throw value_error("simclr: data::dataset::num_classes is " + std::to_string(num_classes) +
                        ", expected ≥ 1 for a non-empty data set");
    if (!class_names.empty() && static_cast<index_t>(class_names.size()) != num_classes)
      throw value_error("simclr: data::dataset::class_names has " +
                        std::to_string(class_names.size()) + " names, expected num_classes = " +
                        std::to_string(num_classes));
    for (index_t i = 0; i < size(); ++i) {
      const std::int32_t y = labels.data()[i];
      if (y < 0 || y >= num_classes)
        throw value_error("simclr: data::dataset label " + std::to_string(i) + " is " +
                          std::to_string(y) + ", expected 0.." + std::to_string(num_classes - 1));
    }
  }

 private:
  void check_index(index_t i) const {
    if (i < 0 || i >= size())
      throw value_error("simclr: data::dataset index " + std::to_string(i) +
                        " is outside [0, " + std::to_string(size()) + ")");
  }
};

/// The images at `indices` (in that order, repeats allowed) as a new data set with the same
/// classes. Throws value_error for an index outside [0, N).
[[nodiscard]] inline dataset select(const dataset& d, std::span<const index_t> indices) {
  const index_t n = static_cast<index_t>(indices.size());
  const index_t h = d.height(), w = d.width(), c = d.channels();
  const std::size_t per_image = static_cast<std::size_t>(h * w * c);
  dataset out;
  out.images = tensor<std::uint8_t, cpu_t>(shape{n, h, w, c}, uninitialized);
  out.labels = tensor<std::int32_t, cpu_t>(shape{n}, uninitialized);
  out.num_classes = d.num_classes;
  out.class_names = d.class_names;
  for (index_t k = 0; k < n; ++k) {
    const index_t i = indices[static_cast<std::size_t>(k)];
    if (i < 0 || i >= d.size())
      throw value_error("simclr: data::select: index " + std::to_string(i) + " (position " +
                        std::to_string(k) + ") is outside [0, " + std::to_string(d.size()) + ")");
    if (per_image > 0)
      std::memcpy(out.images.data() + static_cast<std::size_t>(k) * per_image,
                  d.images.data() + static_cast<std::size_t>(i) * per_image, per_image);
    out.labels.data()[k] = d.labels.data()[i];
  }
  return out;
}

/// Images [first, first + count) as a new data set. Throws value_error when the range is not
/// inside [0, N).
[[nodiscard]] inline dataset subset(const dataset& d, index_t first, index_t count) {
  if (first < 0 || count < 0 || first + count > d.size())
    throw value_error("simclr: data::subset(first = " + std::to_string(first) + ", count = " +
                      std::to_string(count) + ") is outside a data set of " +
                      std::to_string(d.size()) + " images");
  std::vector<index_t> idx(static_cast<std::size_t>(count));
  for (index_t k = 0; k < count; ++k) idx[static_cast<std::size_t>(k)] = first + k;
  return select(d, idx);
}

namespace detail {
/// The first `count` entries of a Fisher–Yates shuffle of `pool`, driven by `s` (deterministic).
inline void partial_shuffle(std::vector<index_t>& pool, index_t count, random::stream& s) {
  const auto n = static_cast<std::uint32_t>(pool.size());
  for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(count); ++i) {
    const std::uint32_t j = i + s.uniform_int(n - i);
    std::swap(pool[i], pool[j]);
  }
  pool.resize(static_cast<std::size_t>(count));
}
}  // namespace detail

/// Indices of `count` distinct images drawn uniformly at random without replacement, returned in
/// ascending order (the data set's order). The same (N, count, seed) always gives the same
/// indices (Philox stream of random::key(seed)). Throws value_error unless 0 ≤ count ≤ N.
[[nodiscard]] inline std::vector<index_t> random_indices(index_t n, index_t count,
                                                         std::uint64_t seed) {
  if (count < 0 || count > n)
    throw value_error("simclr: data::random_subset: count " + std::to_string(count) +
                      " is outside [0, " + std::to_string(n) + "] (the data set's size)");
  if (n > index_t{0xFFFFFFFF})
    throw value_error("simclr: data::random_subset supports at most 2^32 - 1 images");
  std::vector<index_t> pool(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) pool[static_cast<std::size_t>(i)] = i;
  random::stream s(random::derive(seed, 0x5u));
  detail::partial_shuffle(pool, count, s);
  std::sort(pool.begin(), pool.end());
  return pool;
}

/// `count` images drawn uniformly without replacement (see random_indices), in the data set's
/// order.
[[nodiscard]] inline dataset random_subset(const dataset& d, index_t count, std::uint64_t seed) {
  return select(d, random_indices(d.size(), count, seed));
}

/// Number of images of each class: a vector of num_classes counts.
[[nodiscard]] inline std::vector<index_t> class_counts(const dataset& d) {
  std::vector<index_t> counts(static_cast<std::size_t>(std::max<index_t>(d.num_classes, 0)), 0);
  for (index_t i = 0; i < d.size(); ++i) {
    const std::int32_t y = d.labels.data()[i];
    if (y < 0 || y >= d.num_classes)
      throw value_error("simclr: data::class_counts: label " + std::to_string(i) + " is " +
                        std::to_string(y) + ", expected 0.." + std::to_string(d.num_classes - 1));
    ++counts[static_cast<std::size_t>(y)];
  }
  return counts;
}

/// Indices of a class-balanced subset: `per_class` images of every class, drawn without
/// replacement (class c from the stream random::derive(seed, 1, c)), returned in ascending order.
/// Throws value_error when a class has fewer than `per_class` images.
[[nodiscard]] inline std::vector<index_t> balanced_indices(const dataset& d, index_t per_class,
                                                           std::uint64_t seed) {
  if (per_class < 0)
    throw value_error("simclr: data::balanced_subset: per_class is " + std::to_string(per_class) +
                      ", expected ≥ 0");
  std::vector<std::vector<index_t>> by_class(static_cast<std::size_t>(d.num_classes));
  for (index_t i = 0; i < d.size(); ++i) {
    const std::int32_t y = d.labels.data()[i];
    if (y < 0 || y >= d.num_classes)
      throw value_error("simclr: data::balanced_subset: label " + std::to_string(i) + " is " +
                        std::to_string(y) + ", expected 0.." + std::to_string(d.num_classes - 1));
    by_class[static_cast<std::size_t>(y)].push_back(i);
  }
  std::vector<index_t> out;
  for (index_t c = 0; c < d.num_classes; ++c) {
    auto& pool = by_class[static_cast<std::size_t>(c)];
    if (static_cast<index_t>(pool.size()) < per_class)
      throw value_error("simclr: data::balanced_subset: class " + std::to_string(c) +
                        (d.class_names.empty() ? std::string()
                                               : " ('" + d.class_names[static_cast<std::size_t>(c)] + "')") +
                        " has " + std::to_string(pool.size()) + " images, fewer than per_class = " +
                        std::to_string(per_class));
    random::stream s(random::derive(seed, 1u, static_cast<std::uint64_t>(c)));
    detail::partial_shuffle(pool, per_class, s);
    out.insert(out.end(), pool.begin(), pool.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// A class-balanced subset with `per_class` images of every class (see balanced_indices).
[[nodiscard]] inline dataset balanced_subset(const dataset& d, index_t per_class,
                                             std::uint64_t seed) {
  return select(d, balanced_indices(d, per_class, seed));
}

/// The class-balanced subset for a label fraction (0.01 for "1 % of the labels", 0.1 for 10 %):
/// per_class = round(fraction · N / num_classes), at least 1 — 600 per class for 10 % of
/// Fashion-MNIST's 60 000. Throws value_error unless 0 < fraction ≤ 1.
[[nodiscard]] inline dataset label_fraction_subset(const dataset& d, double fraction,
                                                   std::uint64_t seed) {
  if (!(fraction > 0.0 && fraction <= 1.0))
    throw value_error("simclr: data::label_fraction_subset: fraction is " +
                      std::to_string(fraction) + ", expected 0 < fraction ≤ 1");
  if (d.num_classes <= 0) throw value_error("simclr: data::label_fraction_subset: no classes");
  const double per = fraction * static_cast<double>(d.size()) / static_cast<double>(d.num_classes);
  return balanced_subset(d, std::max<index_t>(1, static_cast<index_t>(std::llround(per))), seed);
}

/// Per-channel normalisation applied after scaling to [0, 1]: x ← (x − mean[c]) / std[c].
/// Empty vectors mean no normalisation.
struct normalization {
  std::vector<float> mean;  ///< one per channel (or empty)
  std::vector<float> std;   ///< one per channel (or empty), all > 0
};

/// Per-channel mean and (population) standard deviation of the images scaled to [0, 1],
/// accumulated in double in image order.
[[nodiscard]] inline normalization channel_statistics(const dataset& d) {
  const index_t c = d.channels();
  std::vector<double> sum(static_cast<std::size_t>(c), 0.0), sq(static_cast<std::size_t>(c), 0.0);
  const index_t pixels = d.size() * d.height() * d.width();
  const std::uint8_t* p = d.images.data();
  for (index_t i = 0; i < pixels; ++i)
    for (index_t k = 0; k < c; ++k) {
      const double v = static_cast<double>(p[i * c + k]) / 255.0;
      sum[static_cast<std::size_t>(k)] += v;
      sq[static_cast<std::size_t>(k)] += v * v;
    }
  normalization n;
  for (index_t k = 0; k < c; ++k) {
    const double cnt = static_cast<double>(std::max<index_t>(pixels, 1));
    const double m = sum[static_cast<std::size_t>(k)] / cnt;
    const double var = std::max(0.0, sq[static_cast<std::size_t>(k)] / cnt - m * m);
    n.mean.push_back(static_cast<float>(m));
    n.std.push_back(static_cast<float>(std::sqrt(var)));
  }
  return n;
}

/// The images at `indices` as one float batch (n, C, H, W): x / 255, then normalised per channel
/// when `norm` has values. No augmentation (the evaluation input). Throws value_error for an
/// index out of range or a normalisation with the wrong number of channels or a std ≤ 0.
[[nodiscard]] inline tensor<float, cpu_t> to_float_batch(const dataset& d,
                                                         std::span<const index_t> indices,
                                                         const normalization& norm = {}) {
  const index_t c = d.channels(), h = d.height(), w = d.width();
  const bool normalise = !norm.mean.empty() || !norm.std.empty();
  if (normalise) {
    if (static_cast<index_t>(norm.mean.size()) != c || static_cast<index_t>(norm.std.size()) != c)
      throw value_error("simclr: data::to_float_batch: normalization has " +
                        std::to_string(norm.mean.size()) + " means and " +
                        std::to_string(norm.std.size()) + " stds, expected " + std::to_string(c) +
                        " (one per channel)");
    for (float s : norm.std)
      if (!(s > 0.0f))
        throw value_error("simclr: data::to_float_batch: normalization std " + std::to_string(s) +
                          ", expected > 0");
  }
  const index_t n = static_cast<index_t>(indices.size());
  tensor<float, cpu_t> out(shape{n, c, h, w}, uninitialized);  // (n, C, H, W)
  const index_t plane = h * w;
  for (index_t k = 0; k < n; ++k) {
    const index_t i = indices[static_cast<std::size_t>(k)];
    if (i < 0 || i >= d.size())
      throw value_error("simclr: data::to_float_batch: index " + std::to_string(i) +
                        " is outside [0, " + std::to_string(d.size()) + ")");
    const std::uint8_t* src = d.images.data() + i * plane * c;
    float* dst = out.data() + k * c * plane;
    for (index_t ch = 0; ch < c; ++ch) {
      const float scale = normalise ? 1.0f / (255.0f * norm.std[static_cast<std::size_t>(ch)]) : 1.0f / 255.0f;
      const float shift = normalise ? norm.mean[static_cast<std::size_t>(ch)] / norm.std[static_cast<std::size_t>(ch)] : 0.0f;
      for (index_t p = 0; p < plane; ++p)
        dst[ch * plane + p] = static_cast<float>(src[p * c + ch]) * scale - shift;
    }
  }
  return out;
}

/// Images [first, first + count) as one float batch (count, C, H, W); see the overload above.
[[nodiscard]] inline tensor<float, cpu_t> to_float_batch(const dataset& d, index_t first,
                                                         index_t count,
                                                         const normalization& norm = {}) {
  if (first < 0 || count < 0 || first + count > d.size())
    throw value_error("simclr: data::to_float_batch(first = " + std::to_string(first) +
                      ", count = " + std::to_string(count) + ") is outside a data set of " +
                      std::to_string(d.size()) + " images");
  std::vector<index_t> idx(static_cast<std::size_t>(count));
  for (index_t k = 0; k < count; ++k) idx[static_cast<std::size_t>(k)] = first + k;
  return to_float_batch(d, idx, norm);
}

/// The labels as a plain vector (for the evaluation functions and plots).
[[nodiscard]] inline std::vector<std::int32_t> label_vector(const dataset& d) {
  return std::vector<std::int32_t>(d.labels.data(), d.labels.data() + d.size());
}

}  // namespace simclr::data
