#include <simclr/interop/xtensor.hpp>

#include <doctest/doctest.h>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

using namespace simclr;

TEST_CASE("as_xtensor: an adaptor over a (C, H, W) image, no copy") {
  tensor<float> img(shape{3, 2, 2});
  for (index_t i = 0; i < img.numel(); ++i) img.data()[i] = float(i);
  auto x = interop::as_xtensor(img);
  CHECK(x.dimension() == 3);
  CHECK(x(2, 1, 1) == 11.f);
  // xtensor expressions write through to the tensor.
  xt::view(x, 1, xt::all(), xt::all()) *= 2.f;
  CHECK(img(1, 0, 0) == 8.f);
  CHECK(xt::sum(x)() == doctest::Approx(66.0 + 4 + 5 + 6 + 7));
}

TEST_CASE("as_xtensor: strided views keep their strides") {
  tensor<int> m(shape{3, 4});
  for (index_t i = 0; i < 12; ++i) m.data()[i] = int(i);
  const tensor_view<int> col(m.data() + 2, shape{3}, {4});
  auto x = interop::as_xtensor(col);
  CHECK(x(0) == 2);
  CHECK(x(2) == 10);
}

TEST_CASE("view_of: an xtensor container as a simclr view") {
  xt::xtensor<double, 2> a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  auto v = interop::view_of(a);
  CHECK(v.shape() == shape{2, 3});
  CHECK(v(1, 2) == 6.0);
  v(0, 0) = -1.0;
  CHECK(a(0, 0) == -1.0);
  CHECK(v.is_contiguous());
}
