// simclr::train::collapse_monitor: warns once when the loss stays near its collapse value.
#pragma once

#include <cstdio>

#include <simclr/config.hpp>
#include <simclr/step_metrics.hpp>

namespace simclr::train {

/// Counts consecutive steps whose loss reports `near_collapse` (NT-Xent: the loss sits at
/// log(2N − 1), every embedding alike) and prints one warning to stderr when the run reaches
/// `patience` steps. A step that is not near collapse resets the count.
class collapse_monitor {
 public:
  explicit collapse_monitor(index_t patience) : patience_(patience) {}

  /// Records one step; true when this step triggered the (single) warning.
  bool observe(const step_metrics& m) {
    run_ = m.near_collapse ? run_ + 1 : 0;
    if (run_ < patience_ || warned_) return false;
    std::fprintf(stderr,
                 "\nsimclr: warning: the loss has stayed near its collapse value log(2N-1) for "
                 "%td steps — the embeddings may have collapsed (check the learning rate, "
                 "the temperature and the augmentations)\n",
                 run_);
    warned_ = true;
    return true;
  }
  [[nodiscard]] index_t run() const noexcept { return run_; }
  [[nodiscard]] bool warned() const noexcept { return warned_; }

 private:
  index_t patience_;
  index_t run_ = 0;
  bool warned_ = false;
};

}  // namespace simclr::train
