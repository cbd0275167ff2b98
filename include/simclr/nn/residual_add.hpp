// simclr::nn::residual_add: y = a + b, the join of a residual block (gradient to both branches).
#pragma once

#include <simclr/nn/cpu/elementwise.hpp>
#include <simclr/nn/kernels.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

/// y = a + b for tensors of one shape. Its backward is the identity on both inputs, so it has
/// no state: a block passes dy on to both branches itself.
template <class T, class Backend>
[[nodiscard]] tensor<T, Backend> residual_add(const tensor<T, Backend>& a,
                                              const tensor<T, Backend>& b) {
  expect_shape(b, a.shape(), "residual_add: shortcut");
  tensor<T, Backend> y(a.shape(), uninitialized);
  elementwise_kernel<Backend>::add(a.numel(), a.data(), b.data(), y.data());
  return y;
}

/// a ← a + b in place (a's storage is reused).
template <class T, class Backend>
void residual_add_inplace(tensor<T, Backend>& a, const tensor<T, Backend>& b) {
  expect_shape(b, a.shape(), "residual_add: shortcut");
  elementwise_kernel<Backend>::add(a.numel(), a.data(), b.data(), a.data());
}

}  // namespace simclr::nn
