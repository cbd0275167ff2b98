// simclr::augment::two_views: the (2N, C, S, S) batch of two views per image, thread-independent.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <simclr/augment/compose.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/concepts.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

namespace simclr::augment {

/// Where a batch sits in training, which fixes every random draw of two_views.
struct batch_position {
  std::uint64_t seed = 0;         ///< the run's seed
  std::uint64_t epoch = 0;        ///< epoch number
  std::uint64_t batch_index = 0;  ///< batch number within the epoch
};

/// The stream of view `view` (0 or 1) of the sample with dataset index `sample`:
/// random::derive(seed, epoch, sample, view). Independent of batching and threading.
[[nodiscard]] inline random::key view_key(const batch_position& at, std::uint64_t sample,
                                          std::uint64_t view) {
  return random::derive(at.seed, at.epoch, sample, view);
}

/// The key of batch-level draws (TF mode's one blur σ per batch and view):
/// random::derive(seed, epoch, 2⁶⁴ − 1, batch_index, view) — the all-ones id is never a sample.
[[nodiscard]] inline random::key batch_view_key(const batch_position& at, std::uint64_t view) {
  return random::derive(at.seed, at.epoch, ~std::uint64_t{0}, at.batch_index, view);
}

namespace detail {

/// Runs the `count`·N view jobs of views first_view .. first_view + count − 1: `source(i)` gives
/// image i as an image_f32 (or a reference to one); writes view first_view + v of image i to
/// row v·N + i of the result. `what` names the caller in errors.
template <class Policy, class Source>
[[nodiscard]] tensor<float> views_impl(const Policy& policy, index_t n, Source&& source,
                                       std::span<const std::uint64_t> sample_indices,
                                       const batch_position& at, parallel::thread_pool& pool,
                                       index_t first_view, index_t count, const char* what) {
  if (n < 1) throw shape_error(std::string("simclr: ") + what + ": the batch is empty");
  if (!sample_indices.empty() && static_cast<index_t>(sample_indices.size()) != n)
    throw shape_error(std::string("simclr: ") + what + ": " +
                      std::to_string(sample_indices.size()) + " sample indices for " +
                      std::to_string(n) + " images");
  const auto sample_of = [&](index_t i) {
    return sample_indices.empty()
               ? at.batch_index * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(i)
               : sample_indices[static_cast<std::size_t>(i)];
  };
  // Each view's policy with its batch-level parameters fixed (a copy per view).
  std::vector<Policy> views;
  views.reserve(static_cast<std::size_t>(count));
  for (index_t v = 0; v < count; ++v)
    views.push_back(
        detail::for_batch(policy, batch_view_key(at, static_cast<std::uint64_t>(first_view + v))));
  const auto make_view = [&](index_t job) {
    const index_t i = job % n, v = job / n;
    random::stream rng(view_key(at, sample_of(i), static_cast<std::uint64_t>(first_view + v)));
    return views[static_cast<std::size_t>(v)](source(i), rng);
  };
  // The first view fixes the output shape; every other view must match it.
  tensor<float> first = make_view(0);
  if (first.rank() != 3)
    throw shape_error(std::string("simclr: ") + what + ": the policy returned shape " +
                      first.shape().to_string() + ", expected (C, S, S)");
  const simclr::shape view_shape = first.shape();
  const index_t per_view = first.numel();
  tensor<float> out(shape{count * n, view_shape[0], view_shape[1], view_shape[2]},
                    uninitialized);  // (count·N, C, S, S): row v·N + i is view v of image i
  std::copy(first.data(), first.data() + per_view, out.data());
  parallel::parallel_for(
      1, count * n, 1,
      [&](index_t lo, index_t hi) {
        for (index_t job = lo; job < hi; ++job) {
          const tensor<float> view = make_view(job);
          if (!(view.shape() == view_shape))
            throw shape_error(std::string("simclr: ") + what + ": view " +
                              std::to_string(first_view + job / n) + " of image " +
                              std::to_string(job % n) + " has shape " + view.shape().to_string() +
                              ", the first view " + view_shape.to_string() +
                              "; the policy must give one size");
          std::copy(view.data(), view.data() + per_view, out.data() + job * per_view);
        }
      },
      pool);
  return out;
}

/// views_impl for SimCLR's two views (views 0 and 1).
template <class Policy, class Source>
[[nodiscard]] tensor<float> two_views_impl(const Policy& policy, index_t n, Source&& source,
                                           std::span<const std::uint64_t> sample_indices,
                                           const batch_position& at, parallel::thread_pool& pool) {
  return views_impl(policy, n, std::forward<Source>(source), sample_indices, at, pool, 0, 2,
                    "augment::two_views");
}

/// The number of images of a batch and image i as a float image (views_impl's n and source),
/// for the three batch forms: a span of float images, a span of 8-bit images (converted,
/// x / 255, inside the parallel jobs), an (N, C, H, W) float tensor.
inline auto image_source_of(std::span<const image_f32> images) {
  return std::pair{static_cast<index_t>(images.size()),
                   [images](index_t i) -> const image_f32& {
                     return images[static_cast<std::size_t>(i)];
                   }};
}
inline auto image_source_of(std::span<const image_u8> images) {
  return std::pair{static_cast<index_t>(images.size()), [images](index_t i) {
                     return to_float(images[static_cast<std::size_t>(i)]);
                   }};
}
inline auto image_source_of(const tensor<float>& batch, const char* what) {
  if (batch.rank() != 4)
    throw shape_error(std::string("simclr: ") + what + ": the batch has shape " + batch.shape().to_string() +
                      ", expected (N, C, H, W)");
  const index_t c = batch.extent(1), h = batch.extent(2), w = batch.extent(3), per = c * h * w;
  return std::pair{batch.extent(0), [&batch, c, h, w, per](index_t i) {
                     image_f32 img(shape{c, h, w}, uninitialized);
                     std::copy(batch.data() + i * per, batch.data() + (i + 1) * per, img.data());
                     return img;
                   }};
}

}  // namespace detail

/// Two views of every image: a (2N, C, S, S) batch whose rows i and i + N are the two views of
/// `images[i]` (each a (C, H, W) float image; sizes may differ). View v of image i is
/// `policy(images[i], stream(derive(seed, epoch, sample_indices[i], v)))`, so the result does not
/// depend on the batch composition or on the number of threads (bit-identical). Without
/// `sample_indices`, image i has index batch_index · N + i.
template <augmentation Policy>
[[nodiscard]] tensor<float> two_views(const Policy& policy, std::span<const image_f32> images,
                                      const batch_position& at,
                                      std::span<const std::uint64_t> sample_indices = {},
                                      parallel::thread_pool& pool = parallel::default_pool()) {
  const auto [n, source] = detail::image_source_of(images);
  return detail::two_views_impl(policy, n, source, sample_indices, at, pool);
}

/// Two views of every image of a decoded batch: `images[i]` is (H, W, C) 8-bit, converted to
/// float (x / 255) inside the parallel jobs.
template <augmentation Policy>
[[nodiscard]] tensor<float> two_views(const Policy& policy, std::span<const image_u8> images,
                                      const batch_position& at,
                                      std::span<const std::uint64_t> sample_indices = {},
                                      parallel::thread_pool& pool = parallel::default_pool()) {
  const auto [n, source] = detail::image_source_of(images);
  return detail::two_views_impl(policy, n, source, sample_indices, at, pool);
}

/// Two views of every image of an (N, C, H, W) float batch.
template <augmentation Policy>
[[nodiscard]] tensor<float> two_views(const Policy& policy, const tensor<float>& batch,
                                      const batch_position& at,
                                      std::span<const std::uint64_t> sample_indices = {},
                                      parallel::thread_pool& pool = parallel::default_pool()) {
  const auto [n, source] = detail::image_source_of(batch, "augment::two_views");
  return detail::two_views_impl(policy, n, source, sample_indices, at, pool);
}

}  // namespace simclr::augment
