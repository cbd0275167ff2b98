// simclr::train::step_log: the record of training — train.jsonl (one line per step) and the
// progress display.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/step_metrics.hpp>

namespace simclr::train {

/// One step's record, as written to train.jsonl.
struct step_record {
  std::int64_t epoch = 0, step = 0;
  double lr = 0, loss = 0, top1 = -1, entropy = -1, views_per_s = 0, data_wait_ms = 0;
  std::optional<double> monitor = std::nullopt;  ///< the online monitor's value, on the steps it ran
};

/// Progress display: a bar redrawn in place on a terminal, plain lines otherwise.
enum class progress_style { automatic, bar, lines, none };

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

/// Where the run stands, for the progress display.
struct progress_position {
  std::int64_t epoch = 0;     ///< 0-based epoch of the step
  index_t epochs = 1;         ///< epochs of the whole run
  std::int64_t in_epoch = 0;  ///< steps done in this epoch (1-based after the step)
  index_t per_epoch = 1;      ///< steps per epoch
  double eta_seconds = 0;     ///< estimated time to the end of the run
};

/// Writes train.jsonl and draws the progress. Every line is flushed and checked: a failed
/// write (a full disk) is an io_error naming the log, the step and the last good checkpoint
/// (see `set_last_checkpoint`), so training stops instead of leaving an empty log.
class step_log {
 public:
  /// Opens `path`; with `resume_from_step` ≥ 0 the log is first cut back to the steps before
  /// it (detail::truncate_step_log) and appended to, otherwise it starts empty.
  step_log(std::filesystem::path path, progress_style style, std::int64_t resume_from_step = -1)
      : path_(std::move(path)),
        style_(style != progress_style::automatic ? style
               : ::isatty(::fileno(stderr))       ? progress_style::bar
                                                  : progress_style::lines) {
    if (resume_from_step >= 0) detail::truncate_step_log(path_, resume_from_step);
    out_.open(path_, resume_from_step >= 0 ? std::ios::app : std::ios::trunc);
    if (!out_) throw io_error(path_.string(), "cannot open for writing");
  }

  /// The checkpoint an error message points to when the log cannot be written.
  void set_last_checkpoint(std::filesystem::path p) { last_checkpoint_ = std::move(p); }

  /// Appends one step's line and redraws the progress.
  void record(const step_record& r, const progress_position& at) {
    char line[512], monitor[64] = "";
    if (r.monitor) std::snprintf(monitor, sizeof monitor, ",\"monitor\":%.6g", *r.monitor);
    std::snprintf(line, sizeof line,
                  "{\"epoch\":%lld,\"step\":%lld,\"lr\":%.8g,\"loss\":%.8g,\"top1\":%.6g,"
                  "\"entropy\":%.6g,\"views_per_s\":%.1f,\"data_wait_ms\":%.3f%s}\n",
                  static_cast<long long>(r.epoch), static_cast<long long>(r.step), r.lr, r.loss,
                  r.top1, r.entropy, r.views_per_s, r.data_wait_ms, monitor);
    out_ << line;
    out_.flush();
    if (!out_)
      throw io_error(path_.string(),
                     "cannot write the step log (disk full?) at step " + std::to_string(r.step) +
                         (last_checkpoint_.empty()
                              ? std::string("; no checkpoint was written yet")
                              : "; the last good checkpoint is " + last_checkpoint_.string()));
    // Top-1 only where the method reports one (a contrastive loss; not BYOL).
    char top1[32] = "";
    if (r.top1 >= 0) std::snprintf(top1, sizeof top1, "  top1 %5.1f%%", 100.0 * r.top1);
    if (r.monitor) {  // a line of its own, kept above the bar
      if (style_ == progress_style::bar) std::fprintf(stderr, "\n");
      if (style_ != progress_style::none)
        std::fprintf(stderr, "monitor after %lld steps: %.4f\n",
                     static_cast<long long>(r.step + 1), *r.monitor);
    }
    if (style_ == progress_style::bar) {
      std::fprintf(stderr,
                   "\repoch %lld/%td  step %lld/%td  loss %.4f%s  %6.0f views/s  ETA %4.0fs ",
                   static_cast<long long>(at.epoch + 1), at.epochs,
                   static_cast<long long>(at.in_epoch), at.per_epoch, r.loss, top1,
                   r.views_per_s, at.eta_seconds);
    } else if (style_ == progress_style::lines &&
               (at.in_epoch == at.per_epoch ||
                at.in_epoch % std::max<index_t>(1, at.per_epoch / 5) == 0)) {
      std::fprintf(stderr, "epoch %lld/%td step %lld/%td loss %.4f%s %.0f views/s ETA %.0fs\n",
                   static_cast<long long>(at.epoch + 1), at.epochs,
                   static_cast<long long>(at.in_epoch), at.per_epoch, r.loss, top1,
                   r.views_per_s, at.eta_seconds);
    }
  }

  /// Ends the epoch's progress line (a bar is redrawn in place until then).
  void end_epoch() {
    if (style_ == progress_style::bar) std::fprintf(stderr, "\n");
  }

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  progress_style style_;
  std::ofstream out_;
  std::filesystem::path last_checkpoint_;
};

}  // namespace simclr::train
