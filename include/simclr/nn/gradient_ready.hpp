// simclr::nn::gradients_ready: modules announce, during backward, the parameter gradients that
// are final for this step, so a data-parallel wrapper can start summing them over the ranks
// while the rest of backward runs.
#pragma once

#include <simclr/backend/tags.hpp>
#include <simclr/nn/state.hpp>

namespace simclr::nn {

/// Told, during backward, that a parameter gradient is final for this step (its tensor's data
/// pointer). distributed::data_parallel is one: it starts a bucket's all-reduce once every
/// gradient in it is final.
class gradient_listener {
 public:
  virtual void ready(const void* grad) = 0;

 protected:
  ~gradient_listener() = default;
};

}  // namespace simclr::nn

namespace simclr::detail {
/// The listener of the backward running on this thread (none by default).
inline thread_local nn::gradient_listener* current_gradient_listener = nullptr;
}  // namespace simclr::detail

namespace simclr::nn {

/// Makes `listener` (or nobody, with nullptr) the listener of the backward passes this thread
/// runs until the scope ends; the previous one comes back after it.
class gradient_ready_scope {
 public:
  explicit gradient_ready_scope(gradient_listener* listener)
      : previous_(simclr::detail::current_gradient_listener) {
    simclr::detail::current_gradient_listener = listener;
  }
  ~gradient_ready_scope() { simclr::detail::current_gradient_listener = previous_; }
  gradient_ready_scope(const gradient_ready_scope&) = delete;
  gradient_ready_scope& operator=(const gradient_ready_scope&) = delete;

 private:
  gradient_listener* previous_;
};

/// Called by a module's owner once backward has written the module's parameter gradients for
/// the last time this step (the ResNet after each block and the stem, the MLP head at its end):
/// tells the current listener, if any, about each of them. A method that runs backward through
/// a module twice in one step (and sums) must hide the first pass with
/// gradient_ready_scope(nullptr).
template <class T, backend Backend, class Module>
void gradients_ready(Module& m) {
  gradient_listener* const listener = simclr::detail::current_gradient_listener;
  if (listener == nullptr) return;
  m.visit_state(
      [&](const state_ref<T, Backend>& s) {
        if (s.kind == state_kind::parameter && s.grad != nullptr) listener->ready(s.grad->data());
      },
      "");
}

}  // namespace simclr::nn
