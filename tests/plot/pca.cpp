// Tests of <simclr/plot/pca.hpp>: exact components of a small set, recovery of known principal
// axes from sampled data, the sign convention, and projection.
#include <simclr/plot/pca.hpp>

#include <doctest/doctest.h>

#include <simclr/random/stream.hpp>

using namespace simclr;

TEST_CASE("pca: four points on the axes give e1, e2 with variances 8/3 and 2/3") {
  const tensor<float, cpu_t> x(shape{4, 2}, {2, 0, -2, 0, 0, 1, 0, -1});
  const plot::pca_result r = plot::pca(x, 2);
  CHECK(r.explained_variance[0] == doctest::Approx(8.0 / 3.0));
  CHECK(r.explained_variance[1] == doctest::Approx(2.0 / 3.0));
  CHECK(r.explained_variance_ratio[0] == doctest::Approx(0.8));
  CHECK(r.components(0, 0) == doctest::Approx(1.0));
  CHECK(r.components(0, 1) == doctest::Approx(0.0));
  CHECK(r.components(1, 1) == doctest::Approx(1.0));
  const tensor<double, cpu_t> p = r.project(x);
  CHECK(p.shape() == shape{4, 2});
  CHECK(p(1, 0) == doctest::Approx(-2.0));
  CHECK(p(2, 1) == doctest::Approx(1.0));
}

TEST_CASE("pca: recovers rotated principal axes of sampled data, largest entry positive") {
  // Orthonormal u1 = (1, 2, 2)/3, u2 = (2, 1, −2)/3, u3 = (2, −2, 1)/3, standard deviations 3, 1, 0.1,
  // mean (5, −1, 2).
  const double u[3][3] = {{1, 2, 2}, {2, 1, -2}, {2, -2, 1}};
  const double sd[3] = {3, 1, 0.1};
  const index_t n = 20000;
  tensor<double, cpu_t> x(shape{n, 3});
  random::stream s(random::key(21));
  for (index_t i = 0; i < n; ++i) {
    const double a[3] = {sd[0] * s.normal(), sd[1] * s.normal(), sd[2] * s.normal()};
    for (int j = 0; j < 3; ++j)
      x(i, j) = (j == 0 ? 5.0 : j == 1 ? -1.0 : 2.0) + (a[0] * u[0][j] + a[1] * u[1][j] + a[2] * u[2][j]) / 3.0;
  }
  const plot::pca_result r = plot::pca(x, 3);
  CHECK(r.mean[0] == doctest::Approx(5.0).epsilon(0.01));
  CHECK(r.explained_variance[0] == doctest::Approx(9.0).epsilon(0.05));
  CHECK(r.explained_variance[1] == doctest::Approx(1.0).epsilon(0.05));
  CHECK(r.explained_variance[2] == doctest::Approx(0.01).epsilon(0.05));
  // Sign convention: the largest-magnitude entry is positive. u1's largest entries tie (2/3, 2/3)
  // up to sampling noise, both positive; u2's largest is −2/3 → flipped; u3's largest tie ±2/3.
  const double expect0[3] = {1.0 / 3, 2.0 / 3, 2.0 / 3};
  const double expect1[3] = {-2.0 / 3, -1.0 / 3, 2.0 / 3};
  for (int j = 0; j < 3; ++j) {
    CHECK(r.components(0, j) == doctest::Approx(expect0[j]).epsilon(0.02));
    CHECK(r.components(1, j) == doctest::Approx(expect1[j]).epsilon(0.02));
  }
  double largest = 0;
  for (int j = 0; j < 3; ++j)
    if (std::abs(r.components(2, j)) > std::abs(largest)) largest = r.components(2, j);
  CHECK(largest > 0);
  CHECK_THROWS_AS((void)plot::pca(x, 4), value_error);
  CHECK_THROWS_AS((void)plot::pca(tensor<double, cpu_t>(shape{1, 3}), 1), value_error);
  CHECK_THROWS_AS((void)r.project(tensor<double, cpu_t>(shape{2, 2})), shape_error);
}
