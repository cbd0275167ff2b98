#include <simclr/tensor_view.hpp>

#include <vector>

#include <doctest/doctest.h>

using namespace simclr;

TEST_CASE("tensor_view: indexing, slicing and reshaping a host buffer") {
  std::vector<float> buf(24);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<float>(i);
  const tensor_view<float> v(buf.data(), shape{2, 3, 4});
  CHECK(v.is_contiguous());
  CHECK(v(1, 2, 3) == 23.0f);
  CHECK(v(0, 1, 0) == 4.0f);

  const auto s = v.slice(1, 2);
  CHECK(s.shape() == shape{1, 3, 4});
  CHECK(s(0, 0, 0) == 12.0f);

  const auto r = v.reshape(shape{6, 4});
  CHECK(r(5, 3) == 23.0f);
  CHECK_THROWS_WITH_AS((void)v.reshape(shape{5, 5}),
                       "simclr: cannot reshape (2, 3, 4) (24 elements) to (5, 5) (25 elements)",
                       shape_error);
  CHECK_THROWS_AS((void)v.slice(1, 3), shape_error);

  tensor_view<const float> c = v;  // read-only conversion
  CHECK(c(1, 0, 0) == 12.0f);
}

TEST_CASE("tensor_view: strided views are not contiguous and cannot be reshaped") {
  std::vector<double> buf(12, 0.0);
  // Column 1 of a 4×3 matrix: 4 elements with stride 3.
  const tensor_view<double> col(buf.data() + 1, shape{4}, {3});
  CHECK_FALSE(col.is_contiguous());
  col(2) = 5.0;
  CHECK(buf[7] == 5.0);
  CHECK_THROWS_AS((void)col.reshape(shape{2, 2}), shape_error);
}

TEST_CASE("expect_rank and expect_shape name the operand and both shapes") {
  std::vector<float> buf(6);
  const tensor_view<float> v(buf.data(), shape{2, 3});
  CHECK_NOTHROW(expect_rank(v, 2, "x"));
  CHECK_THROWS_WITH_AS(expect_rank(v, 4, "conv2d: input"),
                       "simclr: conv2d: input has shape (2, 3), expected rank 4", shape_error);
  CHECK_THROWS_WITH_AS(expect_shape(v, shape{3, 2}, "linear: weight"),
                       "simclr: linear: weight has shape (2, 3), expected (3, 2)", shape_error);
}
