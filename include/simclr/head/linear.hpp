// simclr::head::linear and head::identity: the one-layer and the "no projection" heads.
#pragma once

#include <string>
#include <vector>

#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/linear.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/parameter.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

namespace simclr::head {

/// z = W h + b: the paper's "linear projection" ablation (Fig. 8). State names "weight", "bias".
template <class T = float, backend Backend = cpu_t>
class linear {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  linear(index_t in, index_t out, std::uint64_t seed = 0) : fc_({in, out, true}) {
    fc_.reset_parameters(random::key(seed));
  }
  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& h, mode m) {
    return fc_.forward(h, m);
  }
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dz) {
    return fc_.backward(dz);
  }
  void visit_state(const nn::state_visitor<T, Backend>& f, const std::string& prefix) {
    fc_.visit_state(f, prefix);
  }
  [[nodiscard]] std::vector<parameter<T, Backend>> parameters() {
    return nn::parameters_of<T, Backend>(*this);
  }
  void zero_grad() { nn::zero_grad_of<T, Backend>(*this); }
  [[nodiscard]] index_t input_dim() const noexcept { return fc_.options().in; }
  [[nodiscard]] index_t output_dim() const noexcept { return fc_.options().out; }

 private:
  nn::linear<T, Backend> fc_;
};

/// z = h: no projection (the paper's "none" ablation); the loss sees the representation.
template <class T = float, backend Backend = cpu_t>
class identity {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  explicit identity(index_t dim) : dim_(dim) {
    if (dim < 1) throw value_error("simclr: head::identity: dim must be ≥ 1");
  }
  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& h, mode) {
    if (h.rank() != 2 || h.extent(1) != dim_)
      throw shape_error("simclr: head::identity: input has shape " + h.shape().to_string() +
                        ", expected (N, " + std::to_string(dim_) + ")");
    return h;
  }
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dz) { return dz; }
  void visit_state(const nn::state_visitor<T, Backend>&, const std::string&) {}
  [[nodiscard]] std::vector<parameter<T, Backend>> parameters() { return {}; }
  void zero_grad() {}
  [[nodiscard]] index_t input_dim() const noexcept { return dim_; }
  [[nodiscard]] index_t output_dim() const noexcept { return dim_; }

 private:
  index_t dim_;
};

}  // namespace simclr::head
