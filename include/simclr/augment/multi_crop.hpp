// simclr::augment::multi_crop: two global views plus m small local crops per image (SwAV's
// multi-crop), thread-independent like two_views.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include <simclr/augment/image.hpp>
#include <simclr/augment/policy.hpp>
#include <simclr/augment/two_views.hpp>
#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/tensor.hpp>

namespace simclr::augment {

/// A multi-crop policy: two global views by `global` (the usual two views) and `locals` small
/// crops by `local` per image. It satisfies simclr::multi_crop_policy, so train::fit takes it
/// in place of a two-view policy and gives the model both batches (docs/training.md):
///
///   augment::multi_crop crops(fashion_mnist_policy(28), fashion_mnist_policy(16), 4);
///   train::fit(net, sgd, data, crops, options);   // 2×28 px + 4×16 px views per image
///
/// The global views are exactly two_views(global, ...) (views 0 and 1 of each sample's keys);
/// local crop j of image i is `local(image, stream(derive(seed, epoch, sample, 2 + j)))`.
template <augmentation Global, augmentation Local>
struct multi_crop {
  using global_type = Global;
  using local_type = Local;

  Global global;       ///< the policy of the two global views
  Local local;         ///< the policy of the small crops (usually a smaller output size)
  index_t locals = 0;  ///< small crops per image, m ≥ 0 (0: two views only)

  multi_crop(Global g, Local l, index_t m) : global(std::move(g)), local(std::move(l)), locals(m) {
    if (m < 0)
      throw value_error("simclr: augment::multi_crop: " + std::to_string(m) +
                        " local crops, expected ≥ 0");
  }

  [[nodiscard]] const Global& global_policy() const noexcept { return global; }
  [[nodiscard]] const Local& local_policy() const noexcept { return local; }
  [[nodiscard]] index_t local_crops() const noexcept { return locals; }
};

/// One image batch in multi-crop form.
struct crop_batch {
  tensor<float> global;  ///< (2N, C, S, S): rows i and i + N are image i's global views
  tensor<float> local;   ///< (mN, C, s, s): row j·N + i is image i's local crop j; empty if m = 0
};

namespace detail {
template <multi_crop_policy Policy, class Source>
[[nodiscard]] crop_batch multi_crop_impl(const Policy& p, index_t n, Source&& source,
                                         std::span<const std::uint64_t> sample_indices,
                                         const batch_position& at, parallel::thread_pool& pool) {
  crop_batch out;
  out.global = views_impl(p.global_policy(), n, source, sample_indices, at, pool, 0, 2,
                          "augment::multi_crop_views (global views)");
  if (p.local_crops() > 0)
    out.local = views_impl(p.local_policy(), n, source, sample_indices, at, pool, 2,
                           p.local_crops(), "augment::multi_crop_views (local crops)");
  return out;
}
}  // namespace detail

/// The global views and local crops of every image (each a (C, H, W) float image). Keys as
/// two_views: view v of sample s is stream(derive(seed, epoch, s, v)), v = 0, 1 global and
/// v = 2 … m + 1 local, so the result depends neither on the batch composition nor on the
/// number of threads.
template <multi_crop_policy Policy>
[[nodiscard]] crop_batch multi_crop_views(const Policy& policy, std::span<const image_f32> images,
                                          const batch_position& at,
                                          std::span<const std::uint64_t> sample_indices = {},
                                          parallel::thread_pool& pool = parallel::default_pool()) {
  const auto [n, source] = detail::image_source_of(images);
  return detail::multi_crop_impl(policy, n, source, sample_indices, at, pool);
}

/// multi_crop_views of a decoded batch: `images[i]` is (H, W, C) 8-bit.
template <multi_crop_policy Policy>
[[nodiscard]] crop_batch multi_crop_views(const Policy& policy, std::span<const image_u8> images,
                                          const batch_position& at,
                                          std::span<const std::uint64_t> sample_indices = {},
                                          parallel::thread_pool& pool = parallel::default_pool()) {
  const auto [n, source] = detail::image_source_of(images);
  return detail::multi_crop_impl(policy, n, source, sample_indices, at, pool);
}

/// multi_crop_views of an (N, C, H, W) float batch.
template <multi_crop_policy Policy>
[[nodiscard]] crop_batch multi_crop_views(const Policy& policy, const tensor<float>& batch,
                                          const batch_position& at,
                                          std::span<const std::uint64_t> sample_indices = {},
                                          parallel::thread_pool& pool = parallel::default_pool()) {
  const auto [n, source] = detail::image_source_of(batch, "augment::multi_crop_views");
  return detail::multi_crop_impl(policy, n, source, sample_indices, at, pool);
}

/// Fashion-MNIST multi-crop: two global views of fashion_mnist_policy's ops at 28 px with crop
/// scale `global_scale`, and `locals` crops at `local_size` px with scale `local_scale`
/// (defaults 2×28 + 4×16 px; scales 0.35–1 and 0.1–0.4: a local crop covers a part of the
/// garment, its global views most of it).
[[nodiscard]] inline multi_crop<grayscale_policy, grayscale_policy> fashion_mnist_multi_crop(
    index_t locals = 4, index_t local_size = 16, std::array<double, 2> global_scale = {0.35, 1.0},
    std::array<double, 2> local_scale = {0.1, 0.4}) {
  return {fashion_mnist_policy(28, global_scale), fashion_mnist_policy(local_size, local_scale),
          locals};
}

}  // namespace simclr::augment
