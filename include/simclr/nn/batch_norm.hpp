// simclr::nn::batch_norm: BatchNorm over (N, C), (N, C, L) or (N, C, H, W), PyTorch semantics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <simclr/nn/cpu/batch_norm.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/batch_norm_group.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/plane_moments.hpp>
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
/// Inside an nn::global_batch_norm scope, training statistics are those of the whole group's
/// batch (global BatchNorm, <simclr/nn/batch_norm_group.hpp>).
/// Parameters γ (norm_scale) and β (norm_shift); torchvision names them "weight" and "bias".
/// What batch_norm's forward pass adds after the normalisation, in the same pass over the
/// data: y = BN(x) + residual (if given, same shape), then max(y, 0) if `relu`. A block's
/// "bn → relu" and "bn → + shortcut → relu" then cost one pass instead of three.
template <class T, backend Backend>
struct batch_norm_epilogue {
  const tensor<T, Backend>* residual = nullptr;
  bool relu = false;
};

template <class T = float, backend Backend = cpu_t>
class batch_norm {
 public:
  using scalar_type = T;
  using backend_type = Backend;
  using epilogue = batch_norm_epilogue<T, Backend>;

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

  /// y = BN(x) in mode `m` (keeps a copy of x in training; pass an rvalue to hand it over).
  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    if (m == mode::eval) return forward_impl(x, m, {});
    return forward(tensor<T, Backend>(x), m);
  }

  /// y = BN(x) followed by `then`. Training keeps x itself (moved in) for backward — x̂ is
  /// recomputed there, never stored. After a fused ReLU, call backward(dy, y) with this y;
  /// after a fused residual + ReLU the shortcut needs the masked gradient too, so the caller
  /// masks dy itself (relu_grad(y, dy)) and calls backward(masked dy).
  /// `moments`: the moments of x's planes from the layer that wrote x (conv2d::forward's
  /// `moments`), so training need not read x for its statistics; empty or null: computed here.
  [[nodiscard]] tensor<T, Backend> forward(tensor<T, Backend>&& x, mode m, epilogue then = {},
                                           const activation_moments* moments = nullptr) {
    if (m == mode::eval) return forward_impl(x, m, then);
    auto y = forward_impl(x, m, then, moments);
    x_ = std::move(x);
    relu_ = then.relu && then.residual == nullptr;
    return y;
  }

  /// dy → dx; accumulates dγ and dβ. For a forward without a fused ReLU.
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (relu_)
      throw error("simclr: batch_norm::backward: the forward pass fused a ReLU — call "
                  "backward(dy, y) with its output y");
    return backward_impl(dy, nullptr);
  }

  /// dy → dx through the fused ReLU of forward (y: that forward's output, which masks dy).
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy,
                                            const tensor<T, Backend>& y) {
    if (!relu_)
      throw error("simclr: batch_norm::backward(dy, y) is for a forward with a fused ReLU; "
                  "this one had none — call backward(dy)");
    expect_shape(y, dy.shape(), "batch_norm::backward: y");
    return backward_impl(dy, &y);
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
  void clear_cache() { x_ = tensor<T, Backend>(); }

 private:
  static tensor<T, Backend> ones(const shape& s) {
    if constexpr (Backend::host_accessible) {
      tensor<T, Backend> h(s, uninitialized);
      h.fill(T(1));
      return h;
    } else {  // filled on the host, then copied (to_device of the backend, found by ADL)
      tensor<T, cpu_t> h(s, uninitialized);
      h.fill(T(1));
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

  /// The moments given for an input of n·c planes, checked; null if none were given.
  const plane_moments* given_moments(const activation_moments* moments, index_t n) const {
    if (moments == nullptr || moments->empty()) return nullptr;
    if (moments->size() != static_cast<std::size_t>(n * opt_.channels))
      throw value_error("simclr: batch_norm::forward: moments of " +
                        std::to_string(moments->size()) + " planes given for an input of " +
                        std::to_string(n * opt_.channels) + " planes (N·C)");
    return moments->data();
  }

  tensor<T, Backend> forward_impl(const tensor<T, Backend>& x, mode m, const epilogue& then,
                                  const activation_moments* moments = nullptr) {
    const auto [n, l] = layout(x);
    const index_t c = opt_.channels;
    if (then.residual != nullptr)
      expect_shape(*then.residual, x.shape(), "batch_norm::forward: residual");
    const T* res = then.residual != nullptr ? then.residual->data() : nullptr;
    tensor<T, Backend> y(x.shape(), uninitialized);
    if (m == mode::eval) {
      batch_norm_kernel<Backend>::forward_eval(n, c, l, x.data(), gamma_.data(), beta_.data(),
                                               running_mean_.data(), running_var_.data(),
                                               opt_.eps, y.data(), res, then.relu);
      return y;
    }
    group_ = simclr::detail::current_batch_norm_group();
    const plane_moments* given = given_moments(moments, n);
    if (group_ != nullptr) return forward_global(x, n, l, then, res, given);
    if (n * l < 2)
      throw value_error("simclr: batch_norm in training mode needs more than one value per "
                        "channel, got input " + x.shape().to_string());
    tensor<T, Backend> var(shape{c}, uninitialized);
    mean_ = tensor<T, Backend>(shape{c}, uninitialized);
    inv_std_ = tensor<T, Backend>(shape{c}, uninitialized);
    if constexpr (Backend::host_accessible) {
      batch_norm_kernel<Backend>::forward_train(n, c, l, x.data(), gamma_.data(), beta_.data(),
                                                opt_.eps, y.data(), mean_.data(), var.data(),
                                                inv_std_.data(), res, then.relu, given);
    } else {
      (void)given;  // the device kernels compute their own
      batch_norm_kernel<Backend>::forward_train(n, c, l, x.data(), gamma_.data(), beta_.data(),
                                                opt_.eps, y.data(), mean_.data(), var.data(),
                                                inv_std_.data(), res, then.relu);
    }
    update_running(mean_, var, static_cast<double>(n * l));
    return y;
  }

  /// Training statistics over the group's batch: Σx and the count summed over the group, then
  /// Σ(x − mean)² about the group's mean summed likewise; the running statistics take the
  /// group's mean and unbiased variance.
  tensor<T, Backend> forward_global(const tensor<T, Backend>& x, index_t n, index_t l,
                                    const epilogue& then, const T* res,
                                    const plane_moments* given) {
    using kernel = batch_norm_kernel<Backend>;
    const index_t c = opt_.channels;
    const auto cs = static_cast<std::size_t>(c);
    std::vector<double> sums(cs + 1);
    if constexpr (Backend::host_accessible) {
      kernel::channel_sums(n, c, l, x.data(), sums.data(), given);
    } else {
      (void)given;  // the device kernels compute their own
      kernel::channel_sums(n, c, l, x.data(), sums.data());
    }
    sums[cs] = static_cast<double>(n * l);
    group_->sum(std::span<double>(sums));
    count_ = sums[cs];
    if (count_ < 2)
      throw value_error("simclr: batch_norm in training mode needs more than one value per "
                        "channel over the group, got " + std::to_string(count_));
    std::vector<double> mean(cs), ss(cs);
    for (std::size_t ch = 0; ch < cs; ++ch) mean[ch] = sums[ch] / count_;
    if constexpr (Backend::host_accessible) {
      kernel::channel_squares(n, c, l, x.data(), mean.data(), ss.data(), given);
    } else {
      kernel::channel_squares(n, c, l, x.data(), mean.data(), ss.data());
    }
    group_->sum(std::span<double>(ss));
    tensor<T, Backend> var(shape{c}, uninitialized);
    mean_ = tensor<T, Backend>(shape{c}, uninitialized);
    inv_std_ = tensor<T, Backend>(shape{c}, uninitialized);
    kernel::set_stats(c, mean.data(), ss.data(), count_, opt_.eps, mean_.data(), var.data(),
                      inv_std_.data());
    tensor<T, Backend> y(x.shape(), uninitialized);
    kernel::normalize(n, c, l, x.data(), gamma_.data(), beta_.data(), mean_.data(),
                      inv_std_.data(), y.data(), res, then.relu);
    update_running(mean_, var, count_);
    return y;
  }

  /// Backward of forward_global: dγ and dβ take this process's sums (the weight-gradient sum
  /// over the group adds the others'), dx the group's.
  tensor<T, Backend> backward_global(const tensor<T, Backend>& dy, const tensor<T, Backend>* y) {
    using kernel = batch_norm_kernel<Backend>;
    const auto [n, l] = layout(dy);
    const index_t c = opt_.channels;
    std::vector<double> sums(2 * static_cast<std::size_t>(c));
    const T* relu_y = y != nullptr ? y->data() : nullptr;
    kernel::backward_sums(n, c, l, dy.data(), x_.data(), mean_.data(), inv_std_.data(), relu_y,
                          sums.data());
    kernel::add_affine_grads(c, sums.data(), beta_grad_.data(), gamma_grad_.data());
    group_->sum(std::span<double>(sums));
    tensor<T, Backend> dx(dy.shape(), uninitialized);
    kernel::backward_dx(n, c, l, dy.data(), x_.data(), mean_.data(), gamma_.data(),
                        inv_std_.data(), relu_y, sums.data(), count_, dx.data());
    return dx;
  }

  tensor<T, Backend> backward_impl(const tensor<T, Backend>& dy, const tensor<T, Backend>* y) {
    if (x_.empty())
      throw error("simclr: batch_norm::backward without a preceding forward in mode::train");
    expect_shape(dy, x_.shape(), "batch_norm::backward: dy");
    if (group_ != nullptr) return backward_global(dy, y);
    const auto [n, l] = layout(dy);
    tensor<T, Backend> dx(dy.shape(), uninitialized);
    batch_norm_kernel<Backend>::backward(n, opt_.channels, l, dy.data(), x_.data(), mean_.data(),
                                         gamma_.data(), inv_std_.data(),
                                         y != nullptr ? y->data() : nullptr, dx.data(),
                                         gamma_grad_.data(), beta_grad_.data());
    return dx;
  }

  batch_norm_options opt_;
  tensor<T, Backend> gamma_, beta_, gamma_grad_, beta_grad_, running_mean_, running_var_;
  tensor<std::int64_t, cpu_t> batches_;
  tensor<T, Backend> x_, mean_, inv_std_;  // the training input and its statistics
  // The group of the last training forward (global BatchNorm; null: this input's own
  // statistics) and its count of values per channel.
  batch_norm_group* group_ = nullptr;
  double count_ = 0.0;
  bool relu_ = false;                       // whether that forward fused a ReLU
};

}  // namespace simclr::nn
