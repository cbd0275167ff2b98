#include <simclr/shape.hpp>

#include <doctest/doctest.h>

using simclr::shape;

TEST_CASE("shape: extents, rank, numel and printing") {
  const shape s{2, 3, 32, 32};
  CHECK(s.rank() == 4);
  CHECK(s[0] == 2);
  CHECK(s.extent(-1) == 32);
  CHECK(s.numel() == 2 * 3 * 32 * 32);
  CHECK(s.to_string() == "(2, 3, 32, 32)");
  CHECK(shape{}.numel() == 1);
  CHECK(shape{}.to_string() == "()");
  CHECK(shape{4, 0}.numel() == 0);
  CHECK(shape{2, 3} == shape{2, 3});
  CHECK_FALSE(shape{2, 3} == shape{3, 2});
  CHECK_FALSE(shape{2, 3} == shape{2, 3, 1});
}

TEST_CASE("shape: bad extents are rejected with a clear message") {
  CHECK_THROWS_WITH_AS(shape({2, -1}), "simclr: extent 1 of a shape is -1, expected ≥ 0",
                       simclr::shape_error);
  CHECK_THROWS_WITH_AS(shape({1, 2, 3, 4, 5, 6, 7}),
                       "simclr: a shape has at most 6 extents, got 7", simclr::shape_error);
  CHECK_THROWS_WITH_AS((void)shape({2, 3}).extent(2),
                       "simclr: axis 2 out of range for shape (2, 3)", simclr::shape_error);
}

TEST_CASE("shape: contiguous strides are row-major") {
  const auto st = simclr::contiguous_strides(shape{2, 3, 4});
  CHECK(st[0] == 12);
  CHECK(st[1] == 4);
  CHECK(st[2] == 1);
}
