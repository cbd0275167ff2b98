// simclr::random::fill_uniform / fill_normal: parallel, thread-count-independent tensor fills.
#pragma once

#include <cstdint>

#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::random {

namespace detail {
template <class T, class Gen>
void fill_elements(tensor_view<T, cpu_t> v, Gen&& gen) {
  if (!v.is_contiguous())
    throw shape_error("simclr: random fill needs a contiguous view, got shape " +
                      v.shape().to_string());
  T* p = v.data();
  parallel::parallel_for(0, v.numel(), 4096, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) p[i] = gen(static_cast<std::uint64_t>(i));
  });
}
}  // namespace detail

/// Element i ← lo + (hi − lo)·U_i, U_i the i-th uniform of `k`'s stream: the same values for any
/// thread count.
template <class T>
void fill_uniform(tensor_view<T, cpu_t> v, const key& k, T lo = T(0), T hi = T(1)) {
  detail::fill_elements(v, [&](std::uint64_t i) { return lo + (hi - lo) * uniform_at<T>(k, i); });
}

/// Element i ← mean + stddev·N_i, N_i the i-th standard normal of `k`'s stream.
template <class T>
void fill_normal(tensor_view<T, cpu_t> v, const key& k, T mean = T(0), T stddev = T(1)) {
  detail::fill_elements(v, [&](std::uint64_t i) { return mean + stddev * normal_at<T>(k, i); });
}

}  // namespace simclr::random
