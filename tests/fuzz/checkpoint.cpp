// libFuzzer target: train::load_checkpoint into a small model and an SGD optimizer — the
// safetensors parser plus the checkpoint's own checks (format and progress metadata, every state
// tensor present with its shape, the optimizer's slots and step count), staged and committed.
#include <simclr/optim/sgd.hpp>
#include <simclr/train/checkpoint.hpp>

#include "fuzz/input_file.hpp"

namespace {
/// The state kinds a real model has, in miniature: a weight and a bias with gradients, a
/// running-statistics buffer and a counter.
struct tiny_model {
  using scalar_type = float;
  using backend_type = simclr::cpu_t;
  simclr::tensor<float> w{simclr::shape{3, 2}}, w_grad{simclr::shape{3, 2}};
  simclr::tensor<float> b{simclr::shape{3}}, b_grad{simclr::shape{3}};
  simclr::tensor<float> running{simclr::shape{3}};
  simclr::tensor<std::int64_t> batches{simclr::shape{}};

  void visit_state(const simclr::nn::state_visitor<float>& f, const std::string& prefix) {
    using simclr::nn::join_name;
    using simclr::nn::state_kind;
    using simclr::parameter_role;
    f({join_name(prefix, "w"), state_kind::parameter, parameter_role::weight, &w, &w_grad, nullptr});
    f({join_name(prefix, "b"), state_kind::parameter, parameter_role::bias, &b, &b_grad, nullptr});
    f({join_name(prefix, "running"), state_kind::buffer, parameter_role::weight, &running, nullptr,
       nullptr});
    f({join_name(prefix, "batches"), state_kind::counter, parameter_role::weight, nullptr, nullptr,
       &batches});
  }
  std::vector<simclr::parameter<float>> parameters() {
    return simclr::nn::parameters_of<float, simclr::cpu_t>(*this);
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = simclr::fuzz::input_file(data, size);
  tiny_model m;
  simclr::optim::sgd<float> opt({.momentum = 0.9});
  try {
    (void)simclr::train::load_checkpoint(path, m, opt);
  } catch (const simclr::error&) {
  }
  return 0;
}
