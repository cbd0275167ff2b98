// simclr::nn::batch_norm_group and global_batch_norm: BatchNorm statistics over the batch of a
// whole group of processes (global BatchNorm), for the duration of a scope.
#pragma once

#include <span>

namespace simclr::nn {

/// Where global BatchNorm adds up its per-channel sums: every process of the group calls sum()
/// in the same order with the same sizes, and each gets the group's total. The distributed
/// layer provides one per communicator (distributed::data_parallel); anything with this one
/// member can stand in (a test, a subgroup of the processes).
class batch_norm_group {
 public:
  virtual ~batch_norm_group() = default;
  /// x ← Σ over the group's processes of x, in place.
  virtual void sum(std::span<double> x) = 0;
};

}  // namespace simclr::nn

namespace simclr::detail {
/// The group of the innermost nn::global_batch_norm scope on this thread (null: none).
inline nn::batch_norm_group*& current_batch_norm_group() noexcept {
  thread_local nn::batch_norm_group* group = nullptr;
  return group;
}
}  // namespace simclr::detail

namespace simclr::nn {

/// While it lives, every nn::batch_norm forward pass in training mode on this thread
/// normalises with the mean and variance of the group's whole batch — its processes' inputs
/// together — and updates its running statistics with them; the backward pass of such a
/// forward sums (Σdy, Σdy·x̂) over the group likewise, whenever it runs. dγ and dβ stay the
/// process's own part: the weight-gradient sum over the processes completes them, exactly as it
/// does for every other weight. With k processes of n images each, every BatchNorm then
/// computes what one process computes on the k·n images. Scopes nest (the inner one wins).
class global_batch_norm {
 public:
  explicit global_batch_norm(batch_norm_group& group) noexcept
      : previous_(detail::current_batch_norm_group()) {
    detail::current_batch_norm_group() = &group;
  }
  ~global_batch_norm() { detail::current_batch_norm_group() = previous_; }
  global_batch_norm(const global_batch_norm&) = delete;
  global_batch_norm& operator=(const global_batch_norm&) = delete;

 private:
  batch_norm_group* previous_;
};

}  // namespace simclr::nn
