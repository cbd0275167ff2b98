// simclr::detail::exp_lanes / exp_into: exp of float values, one register at a time on the CPU
// path in use (simclr/backend/cpu/dispatch.hpp). Cephes' polynomial as Eigen's pexp evaluates
// it, in simd<float, width> code, so a plain -O2 build does not fall back to 4-lane SSE2 (Eigen
// picks its packets from the host's flags: 3 ns per value against 0.6 on avx512).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/isa.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/config.hpp>

namespace simclr::detail {

/// exp(x) lane by lane: m = ⌊x·log₂e + ½⌋, r = x − m·ln 2 (in two parts), exp(r) by Cephes'
/// degree-6 polynomial, times 2^m built in the exponent bits. Relative error ≤ 2 ulp over
/// [ln(FLT_MIN), 88.37]; 0 below ln(FLT_MIN) ≈ −87.34 (−∞ included: no subnormal results);
/// x above 88.37 is clamped there.
template <std::size_t Bytes>
struct exp_lanes {
  using L = simd<float, Bytes>;
  using V = typename L::vec;
  typedef std::int32_t I __attribute__((vector_size(Bytes)));

  static void exp(V& y, const V& x) {
    const V lo = V{} - 87.33654475f, hi = V{} + 88.3762626647949f;
    V xc = x;
    L::clamp(xc, lo, hi);
    const V t = xc * 1.44269504088896341f + 0.5f;
    V m;
    L::floor(m, t);
    V r = m * -0.693359375f + xc;
    r = m * 2.12194440e-4f + r;
    const V r2 = r * r, r3 = r2 * r;
    V p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    V q = 4.1665795894e-2f * r + 1.6666665459e-1f;
    p = p * r + 8.3334519073e-3f;
    q = q * r + 5.0000001201e-1f;
    p = p * r3 + q;
    p = p * r2 + (r + 1.0f);
    const I bits = (__builtin_convertvector(m, I) + 127) << 23;  // 2^m, m ∈ [−126, 127]
    V two_m;
    std::memcpy(&two_m, &bits, sizeof two_m);
    y = p * two_m;
    L::keep(y, x >= lo);
  }
};

/// y[i] = exp(x[i]) for i < n (y may be x), on the CPU path `isa`; the tail goes through the
/// same lane arithmetic, so a value's result does not depend on where it falls.
inline void exp_into(cpu_isa isa, const float* x, float* y, index_t n) {
  with_isa(isa, [&](auto bytes) {
    using E = exp_lanes<decltype(bytes)::value>;
    typename E::V v, w;
    index_t i = 0;
    for (; i + E::L::width <= n; i += E::L::width) {
      E::L::load(v, x + i);
      E::exp(w, v);
      E::L::store(y + i, w);
    }
    if (i < n) {  // the tail: padded with zeros into one register
      float pad[E::L::width] = {};
      std::memcpy(pad, x + i, static_cast<std::size_t>(n - i) * sizeof(float));
      E::L::load(v, pad);
      E::exp(w, v);
      E::L::store(pad, w);
      std::memcpy(y + i, pad, static_cast<std::size_t>(n - i) * sizeof(float));
    }
  });
}

}  // namespace simclr::detail
