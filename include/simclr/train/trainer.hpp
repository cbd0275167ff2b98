// simclr::train::fit: the training loop of any trainable_model — a batch source, the schedule,
// the step log, the collapse monitor, checkpoints and resume, composed in one short loop.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/io/safetensors.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/schedule.hpp>
#include <simclr/train/batch_source.hpp>
#include <simclr/train/checkpoint.hpp>
#include <simclr/train/collapse_monitor.hpp>
#include <simclr/train/step_log.hpp>

namespace simclr::train {

struct trainer_options {
  index_t epochs = 1;
  /// End this call once this many epochs are done in total (0: at `epochs`). The schedules
  /// (learning rate, a method's momentum) still span `epochs`, so a job cut into time slices —
  /// stop, then resume from the checkpoint — trains exactly as one uninterrupted run.
  index_t stop_after_epochs = 0;
  index_t batch_size = 256;      ///< images per step (2× views)
  std::uint64_t seed = 0;
  double base_lr = 0.3;          ///< scaled by the batch size with `scaling`
  optim::lr_scaling scaling = optim::lr_scaling::linear;
  double warmup_epochs = 1.0;    ///< linear warm-up, then cosine decay to 0, per step
  std::filesystem::path out_dir = "simclr-run";  ///< log, checkpoints
  std::size_t loader_threads = 1;
  /// With a cuda_t model: make the two views on the device (augment::two_views of
  /// <simclr/augment/cuda/two_views.cuh>) from the loader's raw (N, H, W, C) batches instead of
  /// on the CPU threads. Same keys, so the same views to float rounding; the data set's images
  /// must share one size, and the policy must be a device_augmentation (docs/augmentations.md). A
  /// value_error for a CPU model.
  bool device_augment = false;
  /// Progress display: a bar redrawn in place on a terminal, plain lines otherwise.
  using progress_style = train::progress_style;
  progress_style progress = progress_style::automatic;
  bool checkpoint_each_epoch = true;
  /// Consecutive near-collapse steps before a warning is printed.
  index_t collapse_patience = 20;
  std::map<std::string, std::string> metadata;  ///< stored in every checkpoint
  /// The online monitor: every `monitor_every` steps (0: never) fit calls `monitor()` after the
  /// step (on rank 0 only) and writes its value to that step's line of train.jsonl as
  /// "monitor" and to the progress. train::knn_monitor (<simclr/train/knn_monitor.hpp>) is
  /// one: the kNN accuracy of the encoder on a held-out labelled slice. A monitor must not
  /// change the model (training then goes on exactly as without it); its time is not counted in
  /// views_per_s.
  index_t monitor_every = 0;
  std::function<double()> monitor = {};
};

namespace detail {
/// The group a data-parallel model trains in (distributed::data_parallel exposes comm()):
/// rank and size; 0 and 1 for any other model.
template <class Model>
[[nodiscard]] std::pair<int, int> world_of(Model& net) {
  if constexpr (requires { net.comm().rank(); net.comm().size(); })
    return {static_cast<int>(net.comm().rank()), static_cast<int>(net.comm().size())};
  else
    return {0, 1};
}
template <class Model>
void barrier_of(Model& net) {
  if constexpr (requires { net.comm().barrier(); }) net.comm().barrier();
}
}  // namespace detail

struct fit_result {
  std::vector<step_record> steps;     ///< every step of this call, in order
  std::filesystem::path last_checkpoint;
  double seconds = 0.0;               ///< wall time of this call
  double data_wait_seconds = 0.0;     ///< of which the training thread waited for batches
  std::int64_t epochs_done = 0;       ///< epochs completed in total (resumed ones included)
};

/// Trains `net` with `opt` on two-view batches of `data` made by `policy`, for `o.epochs`
/// epochs in total. A multi-crop policy (augment::multi_crop) adds each image's small crops,
/// and each step calls `net.forward_backward(views, local_views)` (a multi_crop_model). Writes `out_dir/train.jsonl` (one JSON object per step, each line flushed
/// and checked: a failed write, e.g. a full disk, is an io_error naming the log and the last
/// good checkpoint), and after each epoch `out_dir/checkpoint.safetensors` (atomically; the
/// temporary files of runs killed while writing one are removed at start). With `resume`,
/// continues from a checkpoint exactly where it stopped: the same weights result as an
/// uninterrupted run, and the log is first cut back to the checkpoint's steps, so no step
/// appears twice.
/// A NaN/Inf loss stops training with a value_error that names the step and the last good
/// checkpoint (which is left untouched).
///
/// Any trainable_model trains here (simclr::model, or a user's method): each step calls
/// `net.forward_backward(views)`, then `opt.step(net.parameters(), lr)`, then
/// `net.after_step(step, total_steps)` when the model has it. The optimizer must be a
/// checkpointable_optimizer (checkpoints hold its state).
///
/// Data-parallel (a distributed::data_parallel model, one fit per process): `batch_size` is
/// the global batch; each process trains on its slice of every global batch of the epoch's one
/// order (the same views per image for any number of processes); rank 0 alone writes the log,
/// the progress and the checkpoints, and every process waits for each checkpoint to be
/// written. A checkpoint resumes with any number of processes (the state is the same on every
/// rank, and steps count global batches); after a resume the ranks' states are verified equal.
template <trainable_model Model, class Optimizer, image_source Source, view_policy Policy>
  requires checkpointable_optimizer<Optimizer, scalar_of<Model>, backend_of<Model>> &&
           (augmentation<Policy> || multi_crop_model<Model>)
fit_result fit(Model& net, Optimizer& opt, const Source& data, const Policy& policy,
               const trainer_options& o,
               const std::optional<std::filesystem::path>& resume = std::nullopt) {
  namespace fs = std::filesystem;
  using clock = std::chrono::steady_clock;
  if (o.epochs < 1 || o.batch_size < 1)
    throw value_error("simclr: train::fit: epochs and batch_size must be ≥ 1");
  if (o.monitor_every < 0 || (o.monitor_every > 0 && !o.monitor))
    throw value_error("simclr: train::fit: monitor_every is " + std::to_string(o.monitor_every) +
                      (o.monitor_every < 0 ? ", expected ≥ 0 (0: no monitor)"
                                           : " but no monitor is set (trainer_options::monitor)"));
  if (o.stop_after_epochs < 0)
    throw value_error("simclr: train::fit: stop_after_epochs is " +
                      std::to_string(o.stop_after_epochs) + ", expected ≥ 0 (0: run to epochs)");
  const std::int64_t end_epoch =
      o.stop_after_epochs > 0 ? std::min(o.stop_after_epochs, o.epochs) : o.epochs;
  const auto [rank, world] = detail::world_of(net);
  const bool writer = rank == 0;  // the process that logs and checkpoints
  fs::create_directories(o.out_dir);
  batch_source<backend_of<Model>, Source, Policy> batches(
      data, policy,
      {.batch_size = o.batch_size, .seed = o.seed, .loader_threads = o.loader_threads,
       .device_augment = o.device_augment, .shard = rank, .shards = world});
  const index_t per_epoch = batches.batches_per_epoch();
  const std::int64_t total_steps = o.epochs * per_epoch;
  const optim::warmup_cosine_schedule schedule{
      .peak_lr = optim::scaled_learning_rate(o.base_lr, o.batch_size, o.scaling),
      .warmup_steps = static_cast<std::int64_t>(std::llround(o.warmup_epochs * double(per_epoch))),
      .total_steps = total_steps};

  fit_result result;
  std::int64_t epoch0 = 0, step = 0;
  const fs::path ckpt = o.out_dir / "checkpoint.safetensors";
  if (writer) (void)io::remove_stale_temporaries(ckpt);  // of a run killed while writing one
  detail::barrier_of(net);
  if (resume) {
    const checkpoint_info info = load_checkpoint(*resume, net, opt);
    if (info.seed != o.seed)
      throw value_error("simclr: train::fit: the checkpoint was made with seed " +
                        std::to_string(info.seed) + ", this run has seed " +
                        std::to_string(o.seed) + " — resume with the same seed");
    epoch0 = info.epoch;
    step = info.step;
    result.last_checkpoint = *resume;
    if constexpr (requires { net.verify_same_state(std::string()); })
      net.verify_same_state("after resuming from " + resume->string());
  }
  result.epochs_done = epoch0;
  std::optional<step_log> log;
  if (writer) {
    log.emplace(o.out_dir / "train.jsonl", o.progress, resume ? step : -1);
    log->set_last_checkpoint(result.last_checkpoint);
  }
  collapse_monitor collapse(o.collapse_patience);
  const auto last_good = [&] {
    return result.last_checkpoint.empty()
               ? std::string("no checkpoint was written yet")
               : "the last good checkpoint is " + result.last_checkpoint.string();
  };

  const auto start = clock::now();
  for (std::int64_t epoch = epoch0; epoch < end_epoch; ++epoch) {
    batches.start_epoch(static_cast<std::uint64_t>(epoch));
    std::int64_t in_epoch = 0;
    while (true) {
      const double wait_before = batches.wait_seconds();
      const auto t0 = clock::now();
      auto batch = batches.next();
      if (!batch) break;
      const double lr = schedule(step);
      step_metrics m;
      try {  // one step of any trainable_model: forward, loss, backward; update; after-step work
        if constexpr (multi_crop_policy<Policy>) {
          m = batch->local_views.numel() > 0
                  ? net.forward_backward(batch->views, batch->local_views)
                  : net.forward_backward(batch->views);
        } else {
          m = net.forward_backward(batch->views);
        }
        const auto params = net.parameters();
        opt.step(std::span<const parameter<scalar_of<Model>, backend_of<Model>>>(params), lr);
        if constexpr (requires { net.after_step(step, total_steps); })
          net.after_step(step, total_steps);
      } catch (const value_error& e) {
        throw value_error(std::string(e.what()) + " [epoch " + std::to_string(epoch) + ", step " +
                          std::to_string(step) + "; " + last_good() + "]");
      }
      const double secs = std::chrono::duration<double>(clock::now() - t0).count();
      // Views per second of the whole job: this rank's views scaled from its slice of the
      // global batch to the whole batch (the slices may differ by an image).
      const double views_here = double(
          batch->views.extent(0) + (batch->local_views.numel() > 0 ? batch->local_views.extent(0) : 0));
      step_record r{epoch, step, lr, m.loss, m.top1_accuracy, m.mean_entropy,
                    views_here * double(o.batch_size) / double(batch->images) / secs,
                    (batches.wait_seconds() - wait_before) * 1e3};
      ++step;
      ++in_epoch;
      if (writer && o.monitor_every > 0 && step % o.monitor_every == 0) r.monitor = o.monitor();
      result.steps.push_back(r);
      const double elapsed = std::chrono::duration<double>(clock::now() - start).count();
      const double per_step = elapsed / double(step - epoch0 * per_epoch);
      if (writer) {
        log->record(r, {.epoch = epoch, .epochs = o.epochs, .in_epoch = in_epoch,
                        .per_epoch = per_epoch,
                        .eta_seconds = per_step * double(total_steps - step)});
        (void)collapse.observe(m);
      }
    }
    if (writer) log->end_epoch();
    result.epochs_done = epoch + 1;
    if (o.checkpoint_each_epoch) {
      if (writer)
        save_checkpoint(ckpt, net, opt,
                        {.epoch = epoch + 1, .step = step, .seed = o.seed, .extra = o.metadata});
      detail::barrier_of(net);  // the checkpoint is complete before any rank goes on
      result.last_checkpoint = ckpt;
      if (writer) log->set_last_checkpoint(ckpt);
    }
  }
  result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  result.data_wait_seconds = batches.wait_seconds();
  return result;
}

/// Reached only when an argument of fit misses its concept: one static_assert per argument
/// names the concept, reported at the caller's line.
template <class Model, class Optimizer, class Source, class Policy>
fit_result fit(Model&, Optimizer&, const Source&, const Policy&, const trainer_options&,
               const std::optional<std::filesystem::path>& = std::nullopt) {
  static_assert(trainable_model<Model>,
                "simclr: train::fit: the model must satisfy simclr::trainable_model: nested "
                "scalar_type and backend_type, forward_backward(views) -> step_metrics, "
                "parameters() and visit_state(visitor, prefix) (simclr::model is one)");
  if constexpr (trainable_model<Model>)
    static_assert(checkpointable_optimizer<Optimizer, scalar_of<Model>, backend_of<Model>>,
                  "simclr: train::fit: the optimizer must satisfy "
                  "simclr::checkpointable_optimizer for the model's scalar type and backend: "
                  "step(params, lr), bind(params) and state() (optim::sgd, lars, adamw are)");
  static_assert(image_source<Source>,
                "simclr: train::fit: the data must satisfy simclr::image_source: size() and "
                "image(i) -> an (H, W, C) 8-bit image (data::dataset is one)");
  static_assert(view_policy<Policy>,
                "simclr: train::fit: the policy must satisfy simclr::view_policy: an "
                "augmentation (a const call policy(image, rng) -> tensor<float>, as "
                "augment::simclr_policy) or a multi_crop_policy (augment::multi_crop)");
  if constexpr (trainable_model<Model> && multi_crop_policy<Policy>)
    static_assert(multi_crop_model<Model>,
                  "simclr: train::fit: a multi-crop policy needs a model that satisfies "
                  "simclr::multi_crop_model: forward_backward(views, local_views) "
                  "(simclr::model and methods::moco are; a data-parallel model and "
                  "methods::byol take two views only)");
  return {};
}

}  // namespace simclr::train
