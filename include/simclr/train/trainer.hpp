// simclr::train::fit: the SimCLR training loop — loader, schedule, progress, JSONL log, checkpoints, resume.
#pragma once

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include <simclr/augment/two_views.hpp>
#include <simclr/augment/view_params.hpp>
#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/io/safetensors.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/schedule.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/train/checkpoint.hpp>
#include <simclr/train/loader.hpp>

namespace simclr::train {

struct trainer_options {
  index_t epochs = 1;
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
  /// must share one size, and the policy's ops must have device versions (docs/cuda.md). A
  /// value_error for a CPU model.
  bool device_augment = false;
  /// Progress display: a bar redrawn in place on a terminal, plain lines otherwise.
  enum class progress_style { automatic, bar, lines, none } progress = progress_style::automatic;
  bool checkpoint_each_epoch = true;
  /// Consecutive near-collapse steps before a warning is printed.
  index_t collapse_patience = 20;
  std::map<std::string, std::string> metadata;  ///< stored in every checkpoint
};

/// One step's record, as written to train.jsonl.
struct step_record {
  std::int64_t epoch = 0, step = 0;
  double lr = 0, loss = 0, top1 = -1, entropy = -1, views_per_s = 0, data_wait_ms = 0;
};

namespace detail {

/// The step number of a train.jsonl line ("step":N), or −1 when the line has none (a line cut
/// short when the process was killed).
[[nodiscard]] inline std::int64_t logged_step(const std::string& line) {
  const std::string key = "\"step\":";
  const std::size_t at = line.find(key);
  if (at == std::string::npos || line.empty() || line.back() != '}') return -1;
  std::int64_t v = -1;
  const char* first = line.data() + at + key.size();
  const auto [rest, bad] = std::from_chars(first, line.data() + line.size(), v);
  return bad == std::errc() && rest != first ? v : -1;
}

/// Cuts the step log back to the steps a checkpoint holds (step < `steps`): a resumed run
/// repeats the steps after its checkpoint, which would otherwise appear twice; a last line cut
/// short by a kill goes too. The lines are in step order, so this truncates the file after the
/// last line kept (one truncate(2), nothing copied). Throws io_error naming the log when it
/// cannot be read or truncated.
inline void truncate_step_log(const std::filesystem::path& log, std::int64_t steps) {
  std::error_code ec;
  if (!std::filesystem::exists(log, ec)) return;
  io::require_regular_file(log, "the step log (train.jsonl)");
  std::ifstream in(log, std::ios::binary);
  if (!in) throw io_error(log.string(), "cannot open the step log for reading");
  std::uintmax_t keep = 0;  // bytes of the lines kept
  std::string line;
  while (std::getline(in, line)) {
    const std::int64_t s = logged_step(line);
    if (s < 0 || s >= steps || in.eof()) break;  // a line without its newline was cut short
    keep += line.size() + 1;
  }
  if (in.bad()) throw io_error(log.string(), "cannot read the step log");
  in.close();
  std::filesystem::resize_file(log, keep, ec);
  if (ec) throw io_error(log.string(), "cannot shorten the step log: " + ec.message());
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
/// epochs in total. Writes `out_dir/train.jsonl` (one JSON object per step, each line flushed
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
template <trainable_model Model, class Optimizer, image_source Source, augmentation Policy>
  requires checkpointable_optimizer<Optimizer, scalar_of<Model>, backend_of<Model>>
fit_result fit(Model& net, Optimizer& opt, const Source& data, const Policy& policy,
               const trainer_options& o,
               const std::optional<std::filesystem::path>& resume = std::nullopt) {
  namespace fs = std::filesystem;
  if (o.epochs < 1 || o.batch_size < 1)
    throw value_error("simclr: train::fit: epochs and batch_size must be ≥ 1");
  fs::create_directories(o.out_dir);
  // A backend whose memory the host reads trains on the loader's views as they are; any other
  // copies them ahead with its make_batch_prefetcher (docs/design.md, "Adding a backend").
  constexpr bool on_cpu = backend_of<Model>::host_accessible;
  if (o.device_augment && on_cpu)
    throw value_error("simclr: train::fit: device_augment needs a device model such as cuda_t "
                      "(this one runs in host memory, where the loader makes the views)");
  if constexpr (!augment::runs_on_device<Policy>) {
    if (o.device_augment)
      throw value_error("simclr: train::fit: device_augment: the policy holds ops without a device "
                        "version or in another order (docs/cuda.md lists them); make the views on "
                        "the CPU (device_augment = false)");
  }
  two_view_loader loader(data, policy,
                         {.batch_size = o.batch_size,
                          .seed = o.seed,
                          .threads = o.loader_threads,
                          .raw_images = o.device_augment});
  // With a cuda_t model, batch b + 1 is copied to the device (pinned staging, copy stream) while
  // step b computes: make_batch_prefetcher (found by ADL, <simclr/train/cuda/prefetch.cuh>).
  // `pending` is the batch whose copy is in flight.
  [[maybe_unused]] auto prefetch_views = [&] {
    if constexpr (on_cpu) return 0;
    else return make_batch_prefetcher(typename Model::backend_type{}, std::type_identity<float>{});
  }();
  [[maybe_unused]] auto prefetch_images = [&] {
    if constexpr (on_cpu) return 0;
    else return make_batch_prefetcher(typename Model::backend_type{},
                                      std::type_identity<std::uint8_t>{});
  }();
  std::optional<view_batch> pending;
  [[maybe_unused]] const auto fetch_ahead = [&] {
    if constexpr (!on_cpu) {
      pending = loader.next();
      if (pending && o.device_augment) prefetch_images.start(pending->images);
      if (pending && !o.device_augment) prefetch_views.start(pending->views);
    }
  };
  const index_t per_epoch = loader.batches_per_epoch();
  const double peak = optim::scaled_learning_rate(o.base_lr, o.batch_size, o.scaling);
  const optim::warmup_cosine_schedule schedule{
      .peak_lr = peak,
      .warmup_steps = static_cast<std::int64_t>(std::llround(o.warmup_epochs * double(per_epoch))),
      .total_steps = static_cast<std::int64_t>(o.epochs * per_epoch)};

  fit_result result;
  std::int64_t epoch0 = 0, step = 0;
  const fs::path ckpt = o.out_dir / "checkpoint.safetensors";
  const fs::path log_path = o.out_dir / "train.jsonl";
  (void)io::remove_stale_temporaries(ckpt);  // left by a run killed while it wrote a checkpoint
  if (resume) {
    const checkpoint_info info = load_checkpoint(*resume, net, opt);
    if (info.seed != o.seed)
      throw value_error("simclr: train::fit: the checkpoint was made with seed " +
                        std::to_string(info.seed) + ", this run has seed " +
                        std::to_string(o.seed) + " — resume with the same seed");
    epoch0 = info.epoch;
    step = info.step;
    result.last_checkpoint = *resume;
  }
  result.epochs_done = epoch0;
  if (resume) detail::truncate_step_log(log_path, step);
  std::ofstream log(log_path, resume ? std::ios::app : std::ios::trunc);
  if (!log) throw io_error(log_path.string(), "cannot open for writing");
  // Every line is flushed and checked: a full disk stops training with an io_error (the last
  // checkpoint, written atomically, stays intact) instead of an empty log.
  const auto write_log = [&](const char* text) {
    log << text;
    log.flush();
    if (!log)
      throw io_error(log_path.string(),
                     "cannot write the step log (disk full?) at step " + std::to_string(step) +
                         (result.last_checkpoint.empty()
                              ? std::string("; no checkpoint was written yet")
                              : "; the last good checkpoint is " + result.last_checkpoint.string()));
  };

  using style = trainer_options::progress_style;
  const style shown = o.progress != style::automatic ? o.progress
                      : ::isatty(::fileno(stderr)) ? style::bar
                                                   : style::lines;
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t total_steps = o.epochs * per_epoch;
  index_t collapse_run = 0;
  bool warned = false;

  for (std::int64_t epoch = epoch0; epoch < o.epochs; ++epoch) {
    loader.start_epoch(static_cast<std::uint64_t>(epoch));
    if constexpr (!on_cpu) fetch_ahead();  // the epoch's first batch starts its copy
    std::int64_t in_epoch = 0;
    while (true) {
      const double wait_before = loader.wait_seconds();
      const auto t0 = std::chrono::steady_clock::now();
      std::optional<view_batch> batch;
      if constexpr (on_cpu) {
        batch = loader.next();
      } else {
        batch = std::move(pending);
        pending.reset();
      }
      if (!batch) break;
      const double lr = schedule(step);
      step_metrics m;
      // One step of any trainable_model: forward, loss, backward; update; the model's own
      // after-step work (a momentum target).
      const auto train_step = [&](const tensor_of<Model>& views) {
        step_metrics sm = net.forward_backward(views);
        const auto params = net.parameters();
        opt.step(std::span<const parameter<scalar_of<Model>, backend_of<Model>>>(params), lr);
        if constexpr (requires { net.after_step(step, total_steps); })
          net.after_step(step, total_steps);
        return sm;
      };
      try {
        if constexpr (on_cpu) {
          m = train_step(batch->views);
        } else if (o.device_augment) {  // raw images to the device, views made there
          const auto images = prefetch_images.take();
          fetch_ahead();  // batch b + 1's copy overlaps step b
          if constexpr (augment::runs_on_device<Policy>) {
            // augment::two_views for device tensors (found by ADL through batch_position)
            m = train_step(two_views(policy, images,
                                     augment::batch_position{o.seed,
                                                             static_cast<std::uint64_t>(epoch),
                                                             batch->index},
                                     std::span<const std::uint64_t>(batch->samples)));
          }
        } else {  // the loader's host views, copied while the previous step computed
          const auto views = prefetch_views.take();
          fetch_ahead();
          m = train_step(views);
        }
      } catch (const value_error& e) {
        throw value_error(std::string(e.what()) + " [epoch " + std::to_string(epoch) + ", step " +
                          std::to_string(step) + "; " +
                          (result.last_checkpoint.empty()
                               ? std::string("no checkpoint was written yet")
                               : "the last good checkpoint is " + result.last_checkpoint.string()) +
                          "]");
      }
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      step_record r{epoch, step, lr, m.loss, m.top1_accuracy, m.mean_entropy,
                    double(2 * batch->samples.size()) / secs,
                    (loader.wait_seconds() - wait_before) * 1e3};
      result.steps.push_back(r);
      char line[512];
      std::snprintf(line, sizeof line,
                    "{\"epoch\":%lld,\"step\":%lld,\"lr\":%.8g,\"loss\":%.8g,\"top1\":%.6g,"
                    "\"entropy\":%.6g,\"views_per_s\":%.1f,\"data_wait_ms\":%.3f}\n",
                    static_cast<long long>(epoch), static_cast<long long>(step), lr, m.loss,
                    m.top1_accuracy, m.mean_entropy, r.views_per_s, r.data_wait_ms);
      write_log(line);
      ++step;
      ++in_epoch;

      collapse_run = m.near_collapse ? collapse_run + 1 : 0;
      if (collapse_run >= o.collapse_patience && !warned) {
        std::fprintf(stderr,
                     "\nsimclr: warning: the loss has stayed near its collapse value log(2N-1) for "
                     "%td steps — the embeddings may have collapsed (check the learning rate, "
                     "the temperature and the augmentations)\n",
                     collapse_run);
        warned = true;
      }
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double per_step = elapsed / double(step - epoch0 * per_epoch);
      const double eta = per_step * double(total_steps - step);
      if (shown == style::bar) {
        std::fprintf(stderr,
                     "\repoch %lld/%td  step %lld/%td  loss %.4f  top1 %5.1f%%  %6.0f views/s  "
                     "ETA %4.0fs ",
                     static_cast<long long>(epoch + 1), o.epochs,
                     static_cast<long long>(in_epoch), per_epoch, m.loss,
                     100.0 * m.top1_accuracy, r.views_per_s, eta);
      } else if (shown == style::lines &&
                 (in_epoch == per_epoch || in_epoch % std::max<index_t>(1, per_epoch / 5) == 0)) {
        std::fprintf(stderr,
                     "epoch %lld/%td step %lld/%td loss %.4f top1 %.1f%% %.0f views/s ETA %.0fs\n",
                     static_cast<long long>(epoch + 1), o.epochs,
                     static_cast<long long>(in_epoch), per_epoch, m.loss,
                     100.0 * m.top1_accuracy, r.views_per_s, eta);
      }
    }
    if (shown == style::bar) std::fprintf(stderr, "\n");
    result.epochs_done = epoch + 1;
    if (o.checkpoint_each_epoch) {
      save_checkpoint(ckpt, net, opt,
                      {.epoch = epoch + 1, .step = step, .seed = o.seed, .extra = o.metadata});
      result.last_checkpoint = ckpt;
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.data_wait_seconds = loader.wait_seconds();
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
  static_assert(augmentation<Policy>,
                "simclr: train::fit: the policy must satisfy simclr::augmentation: a const "
                "call policy(image, rng) -> tensor<float> (augment::simclr_policy is one)");
  return {};
}

}  // namespace simclr::train
