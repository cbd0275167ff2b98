// simclr::train::batch_source: the two-view batches of a run, where the model computes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <simclr/augment/two_views.hpp>
#include <simclr/augment/view_params.hpp>
#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/tensor.hpp>
#include <simclr/train/loader.hpp>

namespace simclr::train {

struct batch_source_options {
  index_t batch_size = 256;
  std::uint64_t seed = 0;
  std::size_t loader_threads = 1;
  /// Make the views on the device from raw 8-bit batches (a device backend only, and a policy
  /// whose ops all run there).
  bool device_augment = false;
  /// This process's slice of every global batch (loader_options::shard, shards).
  int shard = 0;
  int shards = 1;
};

namespace detail {

/// The prefetcher of a device backend for elements T (make_batch_prefetcher of the backend,
/// found by argument-dependent lookup); a placeholder on a host backend.
template <class Backend, class T>
[[nodiscard]] auto make_prefetcher() {
  if constexpr (Backend::host_accessible) return 0;
  else return make_batch_prefetcher(Backend{}, std::type_identity<T>{});
}

}  // namespace detail

/// One batch ready for a step: the views on the model's backend, and where they came from.
template <backend Backend>
struct ready_batch {
  tensor<float, Backend> views;  ///< (2N, C, H, W): rows i and i + N are the views of image i
  /// (mN, C, h, w): a multi-crop policy's small crops (row j·N + i: crop j of image i); empty
  /// for a two-view policy
  tensor<float, Backend> local_views;
  index_t images = 0;            ///< N
  std::uint64_t index = 0;       ///< batch number within the epoch
};

/// The batches of a run on backend `Backend`, made by a two_view_loader:
///  - a host-accessible backend takes the loader's views as they are;
///  - any other backend copies batch b + 1 to the device (make_batch_prefetcher of the
///    backend, found by argument-dependent lookup — <simclr/train/cuda/prefetch.cuh> for
///    cuda_t) while step b computes, and with `device_augment` copies the raw 8-bit images
///    instead and makes the views there (augment::two_views of the backend).
/// The content of batch b of epoch e depends only on (seed, e, b), whoever makes it.
template <backend Backend, image_source Source, view_policy Policy>
class batch_source {
 public:
  static constexpr bool on_host = Backend::host_accessible;

  batch_source(const Source& data, const Policy& policy, const batch_source_options& o)
      : policy_(policy),
        opt_(check(o)),
        loader_(data, policy,
                {.batch_size = o.batch_size,
                 .seed = o.seed,
                 .threads = o.loader_threads,
                 .raw_images = o.device_augment,
                 .shard = o.shard,
                 .shards = o.shards}) {}

  [[nodiscard]] index_t batches_per_epoch() const { return loader_.batches_per_epoch(); }
  /// Seconds the caller has waited for batches so far.
  [[nodiscard]] double wait_seconds() const { return loader_.wait_seconds(); }

  /// Starts epoch `epoch` (a device backend starts copying its first batch).
  void start_epoch(std::uint64_t epoch) {
    epoch_ = epoch;
    loader_.start_epoch(epoch);
    if constexpr (!on_host) fetch_ahead();
  }

  /// The next batch of the epoch, or nothing at its end. On a device backend the copy of the
  /// batch after it is already under way when this returns.
  std::optional<ready_batch<Backend>> next() {
    if constexpr (on_host) {
      auto b = loader_.next();
      if (!b) return std::nullopt;
      const index_t n = static_cast<index_t>(b->samples.size());
      return ready_batch<Backend>{std::move(b->views), std::move(b->local_views), n, b->index};
    } else {
      std::optional<view_batch> b = std::move(pending_);
      pending_.reset();
      if (!b) return std::nullopt;
      const index_t n = static_cast<index_t>(b->samples.size());
      if (opt_.device_augment) {
        const auto images = prefetch_images_.take();
        fetch_ahead();  // batch b + 1's copy overlaps step b
        if constexpr (device_augmentation<Policy>) {
          // augment::two_views for device tensors (found by ADL through batch_position)
          return ready_batch<Backend>{
              two_views(policy_, images, augment::batch_position{opt_.seed, epoch_, b->index},
                        std::span<const std::uint64_t>(b->samples)),
              {}, n, b->index};
        } else {
          throw value_error("simclr: batch_source: unreachable (device_augment was refused)");
        }
      } else {  // the loader's host views, copied while the previous step computed
        auto views = prefetch_views_.take();
        tensor<float, Backend> locals;
        if (b->local_views.numel() > 0) locals = prefetch_locals_.take();
        fetch_ahead();
        return ready_batch<Backend>{std::move(views), std::move(locals), n, b->index};
      }
    }
  }

 private:
  static const batch_source_options& check(const batch_source_options& o) {
    if (o.device_augment && on_host)
      throw value_error("simclr: train::fit: device_augment needs a device model such as cuda_t "
                        "(this one runs in host memory, where the loader makes the views)");
    if (o.device_augment && multi_crop_policy<Policy>)
      throw value_error("simclr: train::fit: device_augment makes two views on the device; a "
                        "multi-crop policy's crops are made on the CPU (device_augment = false)");
    if (o.device_augment && !device_augmentation<Policy>)
      throw value_error("simclr: train::fit: device_augment: the policy is not a "
                        "device_augmentation (an op without params / draw / a host-device apply, "
                        "or a crop that is not the first op; docs/augmentations.md); make the "
                        "views on the CPU (device_augment = false)");
    return o;
  }

  void fetch_ahead() {
    if constexpr (!on_host) {
      pending_ = loader_.next();
      if (pending_ && opt_.device_augment) prefetch_images_.start(pending_->images);
      if (pending_ && !opt_.device_augment) prefetch_views_.start(pending_->views);
      if (pending_ && !opt_.device_augment && pending_->local_views.numel() > 0)
        prefetch_locals_.start(pending_->local_views);
    }
  }

  const Policy& policy_;
  batch_source_options opt_;
  two_view_loader<Source, Policy> loader_;
  std::uint64_t epoch_ = 0;
  std::optional<view_batch> pending_;  ///< the batch whose copy is in flight (device)
  // The device backend's copies ahead (unused on the host).
  decltype(detail::make_prefetcher<Backend, float>()) prefetch_views_ =
      detail::make_prefetcher<Backend, float>();
  decltype(detail::make_prefetcher<Backend, float>()) prefetch_locals_ =
      detail::make_prefetcher<Backend, float>();
  decltype(detail::make_prefetcher<Backend, std::uint8_t>()) prefetch_images_ =
      detail::make_prefetcher<Backend, std::uint8_t>();
};

}  // namespace simclr::train
