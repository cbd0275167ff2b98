#include <simclr/random/stream.hpp>

#include <cmath>
#include <set>
#include <vector>

#include <doctest/doctest.h>

using namespace simclr::random;

TEST_CASE("key: fold_in is deterministic and separates stream ids") {
  const key base(42);
  CHECK(base.fold_in(1) == key(42).fold_in(1));
  CHECK_FALSE(base.fold_in(1) == base.fold_in(2));
  CHECK_FALSE(base.fold_in(1).fold_in(2) == base.fold_in(2).fold_in(1));  // order matters
  CHECK(derive(42, 3, 7) == key(42).fold_in(3).fold_in(7));
  CHECK_FALSE(key(1) == key(2));
  // 64-bit seeds and ids use both halves.
  CHECK_FALSE(key(1) == key(1ull << 32));
  CHECK_FALSE(base.fold_in(1) == base.fold_in(1ull << 32));
}

TEST_CASE("stream: the same key gives the same sequence; block-wise consumption") {
  stream a(derive(7, 1, 2)), b(derive(7, 1, 2));
  for (int i = 0; i < 100; ++i) CHECK(a.next_u32() == b.next_u32());
  // The first four words are block 0 of the key's counter stream.
  const key k = derive(7, 1, 2);
  stream c(k);
  const block4 b0 = k.block(0), b1 = k.block(1);
  for (int i = 0; i < 4; ++i) CHECK(c.next_u32() == b0.v[i]);
  CHECK(c.next_u32() == b1.v[0]);
}

TEST_CASE("stream: uniform draws have the right mean, variance and range") {
  stream s(key(123));
  const int n = 200000;
  double sum = 0, sum2 = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    const double u = s.uniform();
    sum += u;
    sum2 += u * u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  // Standard error of the mean is sqrt(1/12/n) ≈ 6.5e-4: allow 5 sigma.
  CHECK(std::abs(mean - 0.5) < 5 * std::sqrt(1.0 / 12 / n));
  CHECK(std::abs(var - 1.0 / 12) < 0.002);
  CHECK(lo >= 0.0);
  CHECK(hi < 1.0);
}

TEST_CASE("stream: a 16-bin histogram of uniforms passes chi-square") {
  stream s(key(9));
  const int n = 160000, bins = 16;
  std::vector<int> count(bins, 0);
  for (int i = 0; i < n; ++i) ++count[static_cast<int>(s.uniform() * bins)];
  double chi2 = 0;
  const double expected = double(n) / bins;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  // 15 degrees of freedom: P(chi2 > 37.7) = 0.001.
  CHECK(chi2 < 37.7);
}

TEST_CASE("stream: normals have mean 0, variance 1 and normal tails") {
  stream s(key(5));
  const int n = 200000;
  double sum = 0, sum2 = 0;
  int beyond2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = s.normal();
    sum += z;
    sum2 += z * z;
    beyond2 += std::abs(z) > 2.0;
  }
  CHECK(std::abs(sum / n) < 5 / std::sqrt(double(n)));
  CHECK(std::abs(sum2 / n - 1.0) < 0.02);
  // P(|Z| > 2) = 0.0455.
  CHECK(std::abs(double(beyond2) / n - 0.0455) < 0.003);
}

TEST_CASE("stream: uniform_int is unbiased and in range; bernoulli hits its rate") {
  stream s(key(11));
  std::vector<int> count(3, 0);
  const int n = 90000;
  for (int i = 0; i < n; ++i) ++count[s.uniform_int(3)];
  for (int c : count) CHECK(std::abs(c - n / 3) < 5 * std::sqrt(n * (1.0 / 3) * (2.0 / 3)));
  int hits = 0;
  for (int i = 0; i < n; ++i) hits += s.bernoulli(0.2);
  CHECK(std::abs(hits - 0.2 * n) < 5 * std::sqrt(n * 0.2 * 0.8));
  CHECK(s.uniform_int(1) == 0);
}

TEST_CASE("uniform_at / normal_at: random access into a key's stream") {
  const key k(77);
  CHECK(uniform_at<float>(k, 5) == to_unit_float(k.block(5).v[0]));
  CHECK(uniform_at<double>(k, 5) == to_unit_double(k.block(5).v[0], k.block(5).v[1]));
  std::set<double> distinct;
  for (std::uint64_t i = 0; i < 1000; ++i) distinct.insert(normal_at<double>(k, i));
  CHECK(distinct.size() == 1000);
  CHECK(to_unit_float(0xffffffffu) < 1.0f);
  CHECK(to_unit_double(0xffffffffu, 0xffffffffu) < 1.0);
}
