// simclr::nn::cpu_moments: plane_moments of activation planes on the CPU — by BatchNorm from
// memory, or by the convolution that has just written a plane and still holds it in cache.
#pragma once

#include <algorithm>
#include <utility>

#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/nn/plane_moments.hpp>
#include <simclr/parallel/thread_pool.hpp>

namespace simclr::nn::cpu_moments {

/// The reductions keep one 64-byte vector of partial sums per quantity (simd<T, W>), so they
/// vectorise without reassociating, and the lanes are added in a fixed order at the end.
template <class T, std::size_t W>
using lanes = simclr::detail::simd<T, W>;

/// The moments of one plane of L values about its first value, in one read (with W-byte
/// vectors: the caller's ISA context). A value of the plane is as good a shift as its mean:
/// the deviations stay of the order of the spread, so their float sums keep their precision.
template <std::size_t W, class T>
plane_moments plane(const T* x, index_t l) {
  using L = lanes<T, W>;
  const T shift = l > 0 ? x[0] : T(0);
  typename L::vec a = {}, b = {}, v;
  index_t j = 0;
  for (; j + L::width <= l; j += L::width) {
    L::load(v, x + j);
    v -= shift;
    a += v;
    b += v * v;
  }
  plane_moments m;
  m.shift = static_cast<double>(shift);
  m.rest += L::total(a);
  m.squares += L::total(b);
  for (; j < l; ++j) {
    const T d = x[j] - shift;
    m.rest += static_cast<double>(d);
    m.squares += static_cast<double>(d * d);
  }
  return m;
}

/// Planes per parallel task of a pass over (N, C, L) data: about 16 Ki values.
inline index_t plane_grain(index_t l) {
  return std::max<index_t>(1, (index_t{1} << 14) / std::max<index_t>(1, l));
}

/// pm[r] ← the moments of plane r of x (N, C, L), r = i·C + c, planes in parallel in memory
/// order.
template <class T>
void all_planes(index_t n, index_t c, index_t l, const T* x, plane_moments* pm) {
  const cpu_isa isa = current_cpu_isa();
  parallel::parallel_for(0, n * c, plane_grain(l), [&](index_t r0, index_t r1) {
    simclr::detail::with_isa(isa, [&](auto bytes) {
      constexpr std::size_t W = decltype(bytes)::value;
      for (index_t r = r0; r < r1; ++r) pm[r] = plane<W>(x + r * l, l);
    });
  });
}

}  // namespace simclr::nn::cpu_moments
