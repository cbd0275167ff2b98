// simclr::train::two_view_loader: background threads make augmented two-view batches ahead of training.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <simclr/augment/image.hpp>
#include <simclr/augment/multi_crop.hpp>
#include <simclr/augment/two_views.hpp>
#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

namespace simclr::train {

/// A data set the loader can read (<simclr/concepts.hpp>), also spelled train::image_source.
using simclr::image_source;

/// The order of the samples in epoch `epoch`: a Fisher–Yates shuffle drawn from
/// random::derive(seed, epoch, "order"), or 0..n−1 without shuffling. Any worker computes the
/// same order from the same three numbers.
[[nodiscard]] inline std::vector<std::uint64_t> epoch_order(index_t n, std::uint64_t seed,
                                                            std::uint64_t epoch, bool shuffle) {
  std::vector<std::uint64_t> order(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (!shuffle) return order;
  random::stream rng(random::derive(seed, epoch, 0x0DE7u));
  for (std::size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[rng.uniform_int(static_cast<std::uint32_t>(i))]);
  return order;
}

/// Shard `shard` of `shards`' slice of a global batch of `batch` images: images
/// [first, first + count) of the batch, first = ⌊shard·batch / shards⌋. The slices are
/// contiguous, in rank order, and differ by at most one image (a batch of 10 over 4 processes:
/// 2, 3, 2, 3), so the ranks' images laid end to end are the global batch.
struct shard_slice {
  index_t first = 0;
  index_t count = 0;
};
[[nodiscard]] constexpr shard_slice slice_of_batch(index_t batch, int shard, int shards) noexcept {
  const index_t first = batch * shard / shards;
  return {first, batch * (shard + 1) / shards - first};
}

struct loader_options {
  index_t batch_size = 256;  ///< images per batch (the batch has 2·batch_size views)
  std::uint64_t seed = 0;
  bool shuffle = true;
  std::size_t prefetch = 2;  ///< batches made ahead of the consumer
  std::size_t threads = 1;   ///< augmentation threads (besides the training threads)
  /// Only decode and stack: each batch carries its images as one (N, H, W, C) 8-bit tensor in
  /// view_batch::images and no views, for augmentations made elsewhere (on the device:
  /// augment::two_views of <simclr/augment/cuda/two_views.cuh>). The images of a batch must
  /// share one size (a shape_error from next() names the first that does not).
  bool raw_images = false;
  /// Data-parallel training: this process is shard `shard` of `shards`. batch_size stays the
  /// global batch; each batch of the epoch's one global order is cut into `shards` contiguous
  /// slices (slice_of_batch: equal when shards divides batch_size, else one image apart) and
  /// this loader makes slice `shard`. Views are keyed by (seed, epoch, sample, view), so every
  /// image gets the same views for any number of shards.
  int shard = 0;
  int shards = 1;
};

/// One two-view batch: rows i and i + N are the views of image `samples[i]`.
struct view_batch {
  tensor<float> views;                 ///< (2N, C, S, S); empty in raw_images mode
  /// (mN, C, s, s) a multi-crop policy's small crops, row j·N + i crop j of image samples[i];
  /// empty for a two-view policy (or m = 0, or raw_images mode)
  tensor<float> local_views;
  tensor<std::uint8_t> images;         ///< (N, H, W, C) the decoded images, raw_images mode only
  std::vector<std::uint64_t> samples;  ///< data set indices of the N images
  std::uint64_t epoch = 0;
  std::uint64_t index = 0;             ///< batch number within the epoch
};

/// Makes the batches of one epoch at a time on a background thread (with its own pool of
/// `threads` workers), at most `prefetch` ahead, in order. The content of batch b of epoch e
/// depends only on (seed, e, b): not on the thread counts or on how fast anyone runs. The
/// last incomplete batch is dropped (SimCLR needs full batches of negatives). With a
/// multi-crop policy (augment::multi_crop) each batch also carries the small crops.
template <class Source, class Policy>
class two_view_loader {
  static_assert(image_source<Source>,
                "simclr: two_view_loader: the data must satisfy simclr::image_source: size() and "
                "image(i) -> an (H, W, C) 8-bit image (data::dataset is one)");
  static_assert(view_policy<Policy>,
                "simclr: two_view_loader: the policy must satisfy simclr::view_policy: an "
                "augmentation (a const call policy(image, rng) -> tensor<float>, as "
                "augment::simclr_policy) or a multi_crop_policy (augment::multi_crop)");

 public:
  two_view_loader(const Source& source, const Policy& policy, const loader_options& o)
      : source_(source), policy_(policy), opt_(o), pool_(o.threads) {
    if (o.batch_size < 1 || o.prefetch < 1)
      throw value_error("simclr: two_view_loader: batch_size and prefetch must be ≥ 1");
    if (o.shards < 1 || o.shard < 0 || o.shard >= o.shards || o.batch_size < o.shards)
      throw value_error("simclr: two_view_loader: shard " + std::to_string(o.shard) + " of " +
                        std::to_string(o.shards) + " with a global batch of " +
                        std::to_string(o.batch_size) + " images; expected 0 ≤ shard < shards "
                        "and at least one image per process");
    if (static_cast<index_t>(source.size()) < o.batch_size)
      throw value_error("simclr: two_view_loader: the data set has " +
                        std::to_string(static_cast<index_t>(source.size())) +
                        " images, fewer than one batch of " + std::to_string(o.batch_size));
  }
  two_view_loader(const two_view_loader&) = delete;
  two_view_loader& operator=(const two_view_loader&) = delete;
  ~two_view_loader() { stop(); }

  [[nodiscard]] index_t batches_per_epoch() const {
    return static_cast<index_t>(source_.size()) / opt_.batch_size;
  }

  /// Starts producing the batches of `epoch` (stops any epoch in progress).
  void start_epoch(std::uint64_t epoch) {
    stop();
    std::lock_guard lock(mutex_);
    queue_.clear();
    failure_ = nullptr;
    stopping_ = false;
    produced_all_ = false;
    worker_ = std::thread([this, epoch] { produce(epoch); });
  }

  /// The next batch of the current epoch, waiting for it if needed; nothing at the epoch's end.
  /// Adds the time spent waiting to wait_seconds(). Rethrows a failure of the producer once the
  /// batches made before it are taken.
  [[nodiscard]] std::optional<view_batch> next() {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty() || produced_all_ || failure_; });
    wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (queue_.empty()) {  // the batches made before a failure are delivered first
      if (failure_) std::rethrow_exception(failure_);
      return std::nullopt;
    }
    view_batch b = std::move(queue_.front());
    queue_.pop_front();
    space_.notify_all();
    return b;
  }

  /// Total seconds next() has waited for data so far.
  [[nodiscard]] double wait_seconds() const {
    std::lock_guard lock(mutex_);
    return wait_seconds_;
  }

 private:
  void produce(std::uint64_t epoch) {
    try {
      const auto order = epoch_order(static_cast<index_t>(source_.size()), opt_.seed, epoch,
                                     opt_.shuffle);
      const auto [first, n] = slice_of_batch(opt_.batch_size, opt_.shard, opt_.shards);
      for (index_t b = 0; b < batches_per_epoch(); ++b) {
        {
          std::unique_lock lock(mutex_);
          space_.wait(lock, [&] { return stopping_ || queue_.size() < opt_.prefetch; });
          if (stopping_) return;
        }
        view_batch batch;
        batch.epoch = epoch;
        batch.index = static_cast<std::uint64_t>(b);
        batch.samples.assign(order.begin() + b * opt_.batch_size + first,
                             order.begin() + b * opt_.batch_size + first + n);
        std::vector<augment::image_u8> images;
        images.reserve(static_cast<std::size_t>(n));
        for (const auto s : batch.samples) images.push_back(source_.image(static_cast<index_t>(s)));
        if (opt_.raw_images) {
          batch.images = stack(images, batch.samples);
        } else if constexpr (multi_crop_policy<Policy>) {
          auto crops = augment::multi_crop_views(
              policy_, std::span<const augment::image_u8>(images),
              {opt_.seed, epoch, batch.index}, batch.samples, pool_);
          batch.views = std::move(crops.global);
          batch.local_views = std::move(crops.local);
        } else {
          batch.views = augment::two_views(policy_, std::span<const augment::image_u8>(images),
                                           {opt_.seed, epoch, batch.index}, batch.samples, pool_);
        }
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(batch));
        ready_.notify_all();
      }
      std::lock_guard lock(mutex_);
      produced_all_ = true;
      ready_.notify_all();
    } catch (...) {
      std::lock_guard lock(mutex_);
      failure_ = std::current_exception();
      ready_.notify_all();
    }
  }

  /// The images as one (N, H, W, C) tensor; throws shape_error unless they share one size.
  static tensor<std::uint8_t> stack(const std::vector<augment::image_u8>& images,
                                    const std::vector<std::uint64_t>& samples) {
    const augment::image_u8& first = images.front();
    augment::expect_image(first, "two_view_loader (raw images)");
    const index_t per = first.numel();
    for (std::size_t i = 1; i < images.size(); ++i)
      if (!(images[i].shape() == first.shape()))
        throw shape_error("simclr: two_view_loader (raw images): image " +
                          std::to_string(samples[i]) + " has shape " +
                          images[i].shape().to_string() + ", image " +
                          std::to_string(samples[0]) + " of the same batch " +
                          first.shape().to_string() +
                          "; a raw batch needs images of one size (resize the data set, or make "
                          "the views on the CPU)");
    tensor<std::uint8_t> out(shape{static_cast<index_t>(images.size()), first.extent(0),
                                   first.extent(1), first.extent(2)},
                             uninitialized);  // (N, H, W, C)
    for (std::size_t i = 0; i < images.size(); ++i)
      std::copy(images[i].data(), images[i].data() + per,
                out.data() + static_cast<index_t>(i) * per);
    return out;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      space_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

  const Source& source_;
  Policy policy_;
  loader_options opt_;
  parallel::thread_pool pool_;
  std::thread worker_;
  mutable std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<view_batch> queue_;
  std::exception_ptr failure_;
  bool stopping_ = false;
  bool produced_all_ = false;
  double wait_seconds_ = 0.0;
};

}  // namespace simclr::train
