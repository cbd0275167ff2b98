// Tests of loss::multi_crop_pairs: no crops is the two-view loss itself; the value is the mean
// over the (global, global) and (global, crop) pairs; gradients by finite differences in double
// for NT-Xent, DCL and VICReg; float agrees with double; shape errors.
#include <simclr/loss/multi_crop.hpp>

#include <vector>

#include <doctest/doctest.h>

#include <simclr/loss/nt_xent.hpp>
#include <simclr/loss/vicreg.hpp>
#include <simclr/testing/gradcheck.hpp>

#include "support/loss_fixtures.hpp"

using namespace simclr;

namespace {
/// The (2N, D) batch [rows of block a of x; rows of block b of y], blocks of n rows.
tensor<double> pair_of(const tensor<double>& x, index_t a, const tensor<double>& y, index_t b,
                       index_t n) {
  const index_t d = x.extent(1);
  tensor<double> out(shape{2 * n, d}, uninitialized);
  std::copy(x.data() + a * n * d, x.data() + (a + 1) * n * d, out.data());
  std::copy(y.data() + b * n * d, y.data() + (b + 1) * n * d, out.data() + n * d);
  return out;
}
tensor<float> as_float(const tensor<double>& x) {
  tensor<float> out(x.shape(), uninitialized);
  for (index_t i = 0; i < x.numel(); ++i) out.data()[i] = static_cast<float>(x.data()[i]);
  return out;
}
}  // namespace

TEST_CASE("multi_crop_pairs: without crops it is the two-view loss, bit for bit") {
  const auto z = test::random_rows<double>(12, 5, 1);
  loss::nt_xent<double> l(loss::nt_xent_options{.temperature = 0.3});
  const auto direct = l(z);
  const auto mc = loss::multi_crop_pairs(l, z, tensor<double>());
  CHECK(mc.pairs == 1);
  CHECK(mc.value == direct.value);
  CHECK(mc.top1_accuracy == direct.top1_accuracy);
  CHECK(mc.near_collapse == direct.near_collapse);
  CHECK(std::equal(direct.dz.data(), direct.dz.data() + direct.dz.numel(), mc.dz_global.data()));
  CHECK(mc.dz_local.numel() == 0);
}

TEST_CASE("multi_crop_pairs: the mean over (g0, g1) and every (g_v, crop_j) pair") {
  const index_t n = 4, d = 6, m = 3;
  const auto zg = test::random_rows<double>(2 * n, d, 2);
  const auto zl = test::random_rows<double>(m * n, d, 3);
  loss::nt_xent<double> l(loss::nt_xent_options{.temperature = 0.5});
  const auto mc = loss::multi_crop_pairs(l, zg, zl);
  CHECK(mc.pairs == 7);
  double sum = l(zg).value, top1 = l(zg).top1_accuracy;
  for (index_t j = 0; j < m; ++j)
    for (index_t v = 0; v < 2; ++v) {
      const auto r = l(pair_of(zg, v, zl, j, n));
      sum += r.value;
      top1 += r.top1_accuracy;
    }
  CHECK(mc.value == doctest::Approx(sum / 7).epsilon(1e-14));
  CHECK(mc.top1_accuracy == doctest::Approx(top1 / 7).epsilon(1e-14));
  CHECK(mc.dz_global.shape() == zg.shape());
  CHECK(mc.dz_local.shape() == zl.shape());
}

TEST_CASE("multi_crop_pairs: gradients agree with finite differences in double") {
  const index_t n = 3, d = 4;
  auto check = [&](auto l, index_t m, const char* what) {
    CAPTURE(what);
    auto zg = test::random_rows<double>(2 * n, d, 10 + static_cast<std::uint64_t>(m));
    auto zl = test::random_rows<double>(m * n, d, 20 + static_cast<std::uint64_t>(m));
    const auto r = loss::multi_crop_pairs(l, zg, zl);
    auto f = [&] { return static_cast<double>(loss::multi_crop_pairs(l, zg, zl).value); };
    const auto g = testing::gradcheck(f, {{"z_global", zg, r.dz_global}, {"z_local", zl, r.dz_local}});
    CHECK_MESSAGE(g.passed, g.message());
    CHECK(g.checked == (2 + m) * n * d);
  };
  check(loss::nt_xent<double>(loss::nt_xent_options{.temperature = 0.5}), 2, "NT-Xent");
  check(loss::nt_xent<double>(loss::nt_xent_options{.temperature = 0.2, .decoupled = true}), 4,
        "DCL");
  check(loss::vicreg<double>(), 1, "VICReg");
}

TEST_CASE("multi_crop_pairs: float agrees with double") {
  const auto zg = test::random_rows<double>(16, 8, 5);
  const auto zl = test::random_rows<double>(32, 8, 6);
  const tensor<float> fg = as_float(zg), fl = as_float(zl);
  loss::nt_xent<double> ld(loss::nt_xent_options{});
  loss::nt_xent<float> lf(loss::nt_xent_options{});
  const auto rd = loss::multi_crop_pairs(ld, zg, zl);
  const auto rf = loss::multi_crop_pairs(lf, fg, fl);
  CHECK(double(rf.value) == doctest::Approx(rd.value).epsilon(1e-5));
  CHECK(test::float_error(rf.dz_global, rd.dz_global) < 1e-5);
  CHECK(test::float_error(rf.dz_local, rd.dz_local) < 1e-5);
}

TEST_CASE("multi_crop_pairs: shapes that do not fit are a shape_error naming them") {
  loss::nt_xent<double> l(loss::nt_xent_options{});
  const auto zg = test::random_rows<double>(8, 4, 1);
  CHECK_THROWS_WITH_AS((void)loss::multi_crop_pairs(l, test::random_rows<double>(7, 4, 1),
                                                    tensor<double>()),
                       doctest::Contains("z_global has shape (7, 4)"), shape_error);
  CHECK_THROWS_WITH_AS((void)loss::multi_crop_pairs(l, zg, test::random_rows<double>(6, 4, 2)),
                       doctest::Contains("z_local has shape (6, 4), expected (m·4, 4)"),
                       shape_error);
  CHECK_THROWS_WITH_AS((void)loss::multi_crop_pairs(l, zg, test::random_rows<double>(8, 3, 2)),
                       doctest::Contains("z_local has shape (8, 3)"), shape_error);
}
