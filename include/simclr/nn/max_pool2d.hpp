// simclr::nn::max_pool2d: max pooling over NCHW (kernel, stride, padding), argmax for backward.
#pragma once

#include <cstdint>
#include <string>

#include <simclr/nn/cpu/pooling.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

struct max_pool2d_options {
  index_t kernel_size = 3;
  index_t stride = 2;
  index_t padding = 1;  ///< the ImageNet ResNet stem's 3×3/2 pool with padding 1
};

/// Max pooling: x (N, C, H, W) → (N, C, Ho, Wo); padding never wins (it is −∞).
template <class T = float, backend Backend = cpu_t>
class max_pool2d {
 public:
  using scalar_type = T;
  using backend_type = Backend;

  explicit max_pool2d(const max_pool2d_options& o = {}) : opt_(o) {
    if (o.kernel_size < 1 || o.stride < 1 || o.padding < 0 || 2 * o.padding > o.kernel_size)
      throw value_error("simclr: max_pool2d options: kernel " + std::to_string(o.kernel_size) +
                        ", stride " + std::to_string(o.stride) + ", padding " +
                        std::to_string(o.padding) +
                        " — expected kernel, stride ≥ 1 and 0 ≤ padding ≤ kernel/2");
  }

  [[nodiscard]] tensor<T, Backend> forward(const tensor<T, Backend>& x, mode m) {
    const window2d g = geometry(x);
    tensor<T, Backend> y(shape{g.n, g.channels, g.out_height(), g.out_width()}, uninitialized);
    tensor<std::int32_t, Backend> arg(y.shape(), uninitialized);
    pool_kernel<Backend>::max_forward(g, x.data(), y.data(), arg.data());
    if (m == mode::train) {
      argmax_ = std::move(arg);
      input_shape_ = x.shape();
    }
    return y;
  }
  [[nodiscard]] tensor<T, Backend> backward(const tensor<T, Backend>& dy) {
    if (argmax_.empty())
      throw error("simclr: max_pool2d::backward without a preceding forward in mode::train");
    expect_shape(dy, argmax_.shape(), "max_pool2d::backward: dy");
    const window2d g{input_shape_[0], input_shape_[1], input_shape_[2], input_shape_[3],
                     opt_.kernel_size, opt_.kernel_size, opt_.stride, opt_.padding};
    tensor<T, Backend> dx(input_shape_, uninitialized);
    pool_kernel<Backend>::max_backward(g, dy.data(), argmax_.data(), dx.data());
    return dx;
  }
  void visit_state(const state_visitor<T, Backend>&, const std::string&) {}
  void clear_cache() { argmax_ = tensor<std::int32_t, Backend>(); }

 private:
  window2d geometry(const tensor<T, Backend>& x) const {
    expect_rank(x, 4, "max_pool2d: input");
    const window2d g{x.extent(0), x.extent(1), x.extent(2), x.extent(3),
                     opt_.kernel_size, opt_.kernel_size, opt_.stride, opt_.padding};
    if (g.height + 2 * g.padding < g.kernel_h || g.width + 2 * g.padding < g.kernel_w)
      throw shape_error("simclr: max_pool2d: input " + x.shape().to_string() +
                        " is smaller than the pooling window");
    return g;
  }

  max_pool2d_options opt_;
  tensor<std::int32_t, Backend> argmax_;
  shape input_shape_;
};

}  // namespace simclr::nn
