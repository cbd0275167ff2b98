// simclr::nn::batch_norm: BatchNorm over (N, C), (N, C, L) or (N, C, H, W), PyTorch semantics.
#pragma once

#include <cstdint>
#include <string>

#include <simclr/backend/cpu/batch_norm.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

struct batch_norm_options {
  index_t channels = 0;
  double eps = 1e-5;
  double momentum = 0.1;   ///< running = (1 − momentum)·running + momentum·batch (PyTorch)
  bool zero_init = false;  ///< γ = 0 (the last BN of a residual block, optional in SimCLR)
};

/// Batch normalisation per channel (axis 1). Training: batch mean and biased variance
/// normalise; the running mean and the *unbiased* variance are updated with `momentum`, and
/// num_batches_tracked counts the updates. Evaluation: the running statistics normalise.
/// Parameters γ (norm_scale) and β (norm_shift); torchvision names them "weight" and "bias".
template <class T = float, backend Backend = cpu_t>
class batch_norm {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  explicit batch_norm(const batch_norm_options& o) : opt_(o) {
    if (o.channels < 1 || !(o.eps > 0) || !(o.momentum >= 0 && o.momentum <= 1))
      throw value_error("simclr: batch_norm options: channels " + std::to_string(o.channels) +
                        ", eps " + std::to_string(o.eps) + ", momentum " +
                        std::to_string(o.momentum) +
                        " — expected channels ≥ 1, eps > 0, momentum in [0, 1]");
    const shape s{o.channels};
    gamma_ = ones(s);
    if (o.zero_init) memory<Backend>::zero(gamma_.data(), gamma_.bytes());
    beta_ = tensor<T, Backend>(s);
    gamma_grad_ = tensor<T, Backend>(s);
    beta_grad_ = tensor<T, Backend>(s);
    running_mean_ = tensor<T, Backend>(s);
    running_var_ = ones(s);
    batches_ = tensor<std::int64_t, cpu_t>(shape{});
  }

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    const auto [n, l] = layout(x);
    const index_t c = opt_.channels;
    tensor<T, Backend> y(x.shape(), uninitialized);
    if (m == mode::eval) {
      batch_norm_kernel<Backend>::forward_eval(n, c, l, x.data(), gamma_.data(), beta_.data(),
                                               running_mean_.data(), running_var_.data(),
                                               opt_.eps, y.data());
      return y;
    }
    if (n * l < 2)
      throw value_error("simclr: batch_norm in training mode needs more than one value per "
                        "channel, got input " + x.shape().to_string());
    xhat_ = tensor<T, Backend>(x.shape(), uninitialized);
    tensor<T, Backend> mean(shape{c}, uninitialized), var(shape{c}, uninitialized);
    inv_std_ = tensor<T, Backend>(shape{c}, uninitialized);
    batch_norm_kernel<Backend>::forward_train(n, c, l, x.data(), gamma_.data(), beta_.data(),
                                              opt_.eps, y.data(), xhat_.data(), mean.data(),
                                              var.data(), inv_std_.data());
    update_running(mean, var, static_cast<double>(n * l));
    return y;
  }

  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (xhat_.empty())
      throw error("simclr: batch_norm::backward without a preceding forward in mode::train");
    expect_shape(dy, xhat_.shape(), "batch_norm::backward: dy");
    const auto [n, l] = layout(dy);
    tensor<T, Backend> dx(dy.shape(), uninitialized);
    batch_norm_kernel<Backend>::backward(n, opt_.channels, l, dy.data(), xhat_.data(),
                                         gamma_.data(), inv_std_.data(), dx.data(),
                                         gamma_grad_.data(), beta_grad_.data());
    return dx;
  }

  void visit_state(const state_visitor<T, Backend>& f, const std::string& prefix) {
    f({join_name(prefix, "weight"), state_kind::parameter, parameter_role::norm_scale, &gamma_,
       &gamma_grad_, nullptr});
    f({join_name(prefix, "bias"), state_kind::parameter, parameter_role::norm_shift, &beta_,
       &beta_grad_, nullptr});
    f({join_name(prefix, "running_mean"), state_kind::buffer, parameter_role::weight,
       &running_mean_, nullptr, nullptr});
    f({join_name(prefix, "running_var"), state_kind::buffer, parameter_role::weight,
       &running_var_, nullptr, nullptr});
    f({join_name(prefix, "num_batches_tracked"), state_kind::counter, parameter_role::weight,
       nullptr, nullptr, &batches_});
  }

  [[nodiscard]] const batch_norm_options& options() const noexcept { return opt_; }
  [[nodiscard]] tensor<T, Backend>& gamma() noexcept { return gamma_; }
  [[nodiscard]] tensor<T, Backend>& beta() noexcept { return beta_; }
  [[nodiscard]] tensor<T, Backend>& gamma_grad() noexcept { return gamma_grad_; }
  [[nodiscard]] tensor<T, Backend>& beta_grad() noexcept { return beta_grad_; }
  [[nodiscard]] tensor<T, Backend>& running_mean() noexcept { return running_mean_; }
  [[nodiscard]] tensor<T, Backend>& running_var() noexcept { return running_var_; }
  [[nodiscard]] std::int64_t num_batches_tracked() const noexcept { return batches_(); }
  void clear_cache() { xhat_ = tensor<T, Backend>(); }

 private:
  static tensor<T, Backend> ones(const shape& s) {
    tensor<T, cpu_t> h(s, uninitialized);
    h.fill(T(1));
    if constexpr (std::is_same_v<Backend, cpu_t>) {
      return h;
    } else {
      return to_device(h);
    }
  }

  /// (N, L) of an (N, C), (N, C, L) or (N, C, H, W) input, checking C.
  std::pair<index_t, index_t> layout(const tensor<T, Backend>& x) const {
    if (x.rank() < 2 || x.rank() > 4 || x.extent(1) != opt_.channels)
      throw shape_error("simclr: batch_norm: input has shape " + x.shape().to_string() +
                        ", expected (N, " + std::to_string(opt_.channels) +
                        ") or (N, " + std::to_string(opt_.channels) + ", H, W)");
    return {x.extent(0), x.numel() / (x.extent(0) * x.extent(1))};
  }

  void update_running(const tensor<T, Backend>& mean, const tensor<T, Backend>& var,
                      double count) {
    const T mom = static_cast<T>(opt_.momentum);
    const T unbias = static_cast<T>(count / (count - 1.0));
    if constexpr (Backend::host_accessible) {
      for (index_t c = 0; c < opt_.channels; ++c) {
        running_mean_(c) = (T(1) - mom) * running_mean_(c) + mom * mean(c);
        running_var_(c) = (T(1) - mom) * running_var_(c) + mom * var(c) * unbias;
      }
    } else {  // device memory: the backend's kernel applies the same formula
      batch_norm_kernel<Backend>::update_running(opt_.channels, mean.data(), var.data(), mom,
                                                 unbias, running_mean_.data(),
                                                 running_var_.data());
    }
    batches_() += 1;
  }

  batch_norm_options opt_;
  tensor<T, Backend> gamma_, beta_, gamma_grad_, beta_grad_, running_mean_, running_var_;
  tensor<std::int64_t, cpu_t> batches_;
  tensor<T, Backend> xhat_, inv_std_;
};

}  // namespace simclr::nn
