// Test helpers: straightforward reference implementations to check kernels against.
#pragma once

#include <vector>

#include <simclr/tensor.hpp>

namespace simclr::test {

/// Reference C = α·op(A)·op(B) + β·C in long double, element by element.
template <class T>
tensor<T> naive_gemm(const tensor<T>& a, const tensor<T>& b, bool ta, bool tb, double alpha,
                     double beta, const tensor<T>& c0) {
  const index_t m = ta ? a.extent(1) : a.extent(0);
  const index_t k = ta ? a.extent(0) : a.extent(1);
  const index_t n = tb ? b.extent(0) : b.extent(1);
  tensor<T> c = c0;
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      long double s = 0;
      for (index_t p = 0; p < k; ++p)
        s += static_cast<long double>(ta ? a(p, i) : a(i, p)) *
             static_cast<long double>(tb ? b(j, p) : b(p, j));
      c(i, j) = static_cast<T>(alpha * static_cast<double>(s) +
                               (beta == 0.0 ? 0.0 : beta * static_cast<double>(c0(i, j))));
    }
  return c;
}

}  // namespace simclr::test
