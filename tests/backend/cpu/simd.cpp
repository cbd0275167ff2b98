// Tests of <simclr/backend/cpu/simd.hpp>: the lane sum's fixed pairwise order.
#include <simclr/backend/cpu/simd.hpp>

#include <cstddef>

#include <doctest/doctest.h>

using namespace simclr;

namespace {

/// The sum of n lane values by halving: lane u + lane u + n/2, then again, in double.
double halving(double* d, index_t n) {
  for (index_t h = n / 2; h >= 1; h /= 2)
    for (index_t u = 0; u < h; ++u) d[u] += d[u + h];
  return d[0];
}

template <class T, std::size_t Bytes>
void check_total() {
  using L = detail::simd<T, Bytes>;
  CAPTURE(sizeof(T));
  CAPTURE(Bytes);
  typename L::vec v;
  double d[64];
  for (index_t u = 0; u < L::width; ++u) {
    v[u] = static_cast<T>(1.0 + 0.37 * static_cast<double>(u * u % 7) - 0.011 * double(u));
    d[u] = static_cast<double>(v[u]);
  }
  CHECK(L::total(v) == halving(d, L::width));  // the same bits: the order is fixed
  // Where the order shows (four lanes or more): 1e16 + 1 rounds to 1e16 in double, so lane by
  // lane this sums to 1; halving pairs 1e16 with −1e16 and 1 with 1.
  if constexpr (std::is_same_v<T, double> && L::width >= 4) {
    typename L::vec c{};
    c[0] = 1e16;
    c[1] = 1.0;
    c[L::width / 2] = -1e16;
    c[L::width / 2 + 1] = 1.0;
    CHECK(L::total(c) == 2.0);
  }
}

}  // namespace

TEST_CASE("simd::total sums lanes by halving, in double, for every register width") {
  check_total<float, 16>();
  check_total<float, 32>();
  check_total<float, 64>();
  check_total<double, 16>();
  check_total<double, 32>();
  check_total<double, 64>();
}
