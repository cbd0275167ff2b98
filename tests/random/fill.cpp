#include <simclr/random/fill.hpp>

#include <cstring>

#include <doctest/doctest.h>

#include <simclr/parallel/thread_pool.hpp>

using namespace simclr;

TEST_CASE("fill_uniform / fill_normal: same values for 1, 2 and 4 threads") {
  const random::key k = random::derive(2024, /*epoch*/ 3, /*op*/ 1);
  std::vector<tensor<float>> u, g;
  for (std::size_t threads : {1u, 2u, 4u}) {
    parallel::set_num_threads(threads);
    tensor<float> a(shape{123, 457}, uninitialized), b(shape{123, 457}, uninitialized);
    random::fill_uniform(a.view(), k, -2.f, 3.f);
    random::fill_normal(b.view(), k, 1.f, 0.5f);
    u.push_back(std::move(a));
    g.push_back(std::move(b));
  }
  parallel::set_num_threads(2);
  for (std::size_t i = 1; i < u.size(); ++i) {
    CHECK(std::memcmp(u[0].data(), u[i].data(), u[0].bytes()) == 0);
    CHECK(std::memcmp(g[0].data(), g[i].data(), g[0].bytes()) == 0);
  }
  double mean = 0, lo = 1e9, hi = -1e9;
  for (float x : u[0].values()) {
    mean += x;
    lo = std::min<double>(lo, x);
    hi = std::max<double>(hi, x);
  }
  mean /= double(u[0].numel());
  CHECK(std::abs(mean - 0.5) < 0.02);
  CHECK(lo >= -2.0);
  CHECK(hi < 3.0);
  double gm = 0, gv = 0;
  for (float x : g[0].values()) gm += x;
  gm /= double(g[0].numel());
  for (float x : g[0].values()) gv += (x - gm) * (x - gm);
  gv /= double(g[0].numel());
  CHECK(std::abs(gm - 1.0) < 0.01);
  CHECK(std::abs(gv - 0.25) < 0.01);
}

TEST_CASE("fill: element i depends only on (key, i)") {
  const random::key k(1);
  tensor<double> big(shape{1000}), small(shape{10});
  random::fill_normal(big.view(), k);
  random::fill_normal(small.view(), k);
  for (index_t i = 0; i < 10; ++i) CHECK(big(i) == small(i));
}

TEST_CASE("fill: strided views are rejected") {
  tensor<float> t(shape{4, 4});
  const tensor_view<float> col(t.data(), shape{4}, {4});
  CHECK_THROWS_AS(random::fill_uniform(col, random::key(1)), shape_error);
}
