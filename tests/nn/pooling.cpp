// max_pool2d, adaptive_avg_pool and global_avg_pool (one file for the pooling headers and their
// kernels).
#include <simclr/nn/adaptive_avg_pool.hpp>
#include <simclr/nn/global_avg_pool.hpp>
#include <simclr/nn/max_pool2d.hpp>
#include <simclr/nn/cpu/pooling.hpp>

#include <doctest/doctest.h>

#include "support/layer_check.hpp"
#include "support/nn_fixtures.hpp"

using namespace simclr;

TEST_CASE("max_pool2d: known values, padding never wins") {
  nn::max_pool2d<double> pool({.kernel_size = 2, .stride = 2, .padding = 0});
  const tensor<double> x(shape{1, 1, 4, 4},
                         {1, 5, 2, 0, 3, 4, 8, 1, -1, -2, -3, -4, -5, -6, -7, -9});
  const auto y = pool.forward(x, mode::train);
  CHECK(y.shape() == shape{1, 1, 2, 2});
  CHECK(y(0, 0, 0, 0) == 5.0);
  CHECK(y(0, 0, 0, 1) == 8.0);
  CHECK(y(0, 0, 1, 0) == -1.0);
  CHECK(y(0, 0, 1, 1) == -3.0);
  const auto dx = pool.backward(tensor<double>(shape{1, 1, 2, 2}, {1, 2, 3, 4}));
  CHECK(dx(0, 0, 0, 1) == 1.0);
  CHECK(dx(0, 0, 1, 2) == 2.0);
  CHECK(dx(0, 0, 2, 0) == 3.0);
  CHECK(dx(0, 0, 2, 2) == 4.0);
  CHECK(dx(0, 0, 0, 0) == 0.0);

  nn::max_pool2d<double> stem;  // 3×3/2, padding 1: all-negative input still gives real values
  const tensor<double> neg(shape{1, 1, 2, 2}, {-4, -3, -2, -1});
  const auto s = stem.forward(neg, mode::eval);
  CHECK(s.shape() == shape{1, 1, 1, 1});
  CHECK(s(0, 0, 0, 0) == -1.0);
}

TEST_CASE("max_pool2d: gradients by finite differences (overlapping windows)") {
  nn::max_pool2d<double> pool;  // 3×3, stride 2, padding 1
  auto x = test::randn(shape{2, 3, 7, 7}, 21);
  const auto r = test::check_layer(pool, x);
  CHECK_MESSAGE(r.passed, r.message());
}

TEST_CASE("global_avg_pool: means, gradient, shapes") {
  nn::global_avg_pool<double> gap;
  const tensor<double> x(shape{1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  const auto y = gap.forward(x, mode::train);
  CHECK(y.shape() == shape{1, 2});
  CHECK(y(0, 0) == 2.5);
  CHECK(y(0, 1) == 25.0);
  auto x2 = test::randn(shape{3, 4, 3, 5}, 2);
  const auto r = test::check_layer(gap, x2);
  CHECK_MESSAGE(r.passed, r.message());
  CHECK_THROWS_AS((void)gap.forward(tensor<double>(shape{2, 3}), mode::train), shape_error);
}

TEST_CASE("adaptive_avg_pool: PyTorch's AdaptiveAvgPool2d, flattened (overlapping and equal cells)") {
  const auto ref = io::read_safetensors(test::nn_fixture("adaptive_avg_pool.safetensors"));
  const auto check = [&](const std::string& name, index_t grid) {
    CAPTURE(name);
    CAPTURE(grid);
    const std::string key = name + ".g" + std::to_string(grid);
    nn::adaptive_avg_pool<double> pool(grid);
    const auto x = ref.get<double>(name + ".x");
    const auto y = pool.forward(x, mode::train);
    CHECK(y.shape() == shape{x.extent(0), x.extent(1) * grid * grid});
    CHECK(test::max_scaled_error(y, ref.get<double>(key + ".y")) <= 1e-14);
    const auto dx = pool.backward(ref.get<double>(key + ".r"));
    CHECK(test::max_scaled_error(dx, ref.get<double>(key + ".dx")) <= 1e-14);
  };
  for (index_t g = 1; g <= 4; ++g) check("odd", g);  // 7 × 5 planes: cells overlap for g > 1
  check("even", 2);
  check("even", 4);  // 8 × 4 planes: 4 × 1 and 2 × 1 cells that do not overlap
}

TEST_CASE("adaptive_avg_pool: gradients by finite differences, columns of a wider h, errors") {
  for (index_t g : {2, 3, 6}) {  // 6 > 5: cells repeat rows and columns
    CAPTURE(g);
    nn::adaptive_avg_pool<double> pool(g);
    auto x = test::randn(shape{2, 3, 7, 5}, 30 + g);
    const auto r = test::check_layer(pool, x);
    CHECK_MESSAGE(r.passed, r.message());
  }
  // forward_into / backward(dy, column) / backward_add on columns [3, 3 + C·g²) of (N, 20).
  nn::adaptive_avg_pool<double> pool(2);
  const auto x = test::randn(shape{2, 3, 5, 5}, 40);
  tensor<double> h(shape{2, 20});
  pool.forward_into(x, h, 3, mode::train);
  const auto y = pool.forward(x, mode::train);
  for (index_t i = 0; i < 2; ++i)
    for (index_t j = 0; j < 12; ++j) CHECK(h(i, 3 + j) == y(i, j));
  const auto dh = test::randn(shape{2, 20}, 41);
  tensor<double> dy(shape{2, 12});
  for (index_t i = 0; i < 2; ++i)
    for (index_t j = 0; j < 12; ++j) dy(i, j) = dh(i, 3 + j);
  const auto dx = pool.backward(dy), dx_column = pool.backward(dh, 3);
  CHECK(test::max_scaled_error(dx_column, dx) == 0.0);
  auto sum = test::randn(x.shape(), 42);
  const auto base = sum;
  pool.backward_add(dh, 3, sum);
  for (index_t i = 0; i < x.numel(); ++i)
    CHECK(sum.data()[i] == doctest::Approx(base.data()[i] + dx.data()[i]).epsilon(1e-14));
  CHECK_THROWS_AS(pool.forward_into(x, h, 9, mode::train), shape_error);  // 9 + 12 > 20
  CHECK_THROWS_AS((void)pool.backward(tensor<double>(shape{2, 3})), shape_error);
  CHECK_THROWS_WITH_AS(nn::adaptive_avg_pool<double>(0),
                       "simclr: adaptive_avg_pool: grid is 0, expected 1 to 64", value_error);
}

TEST_CASE("avg_grid: cells_holding names exactly the cells whose span holds an element") {
  // Equal cells, overlapping cells (the side not a multiple of the grid) and more cells than
  // elements; rows and columns of different sides. The CUDA backward visits only these cells.
  for (index_t grid : {1, 2, 3, 4, 6, 7, 64})
    for (index_t side : {1, 2, 3, 5, 7, 8, 12, 28}) {
      const nn::avg_grid g{.n = 1, .channels = 1, .height = side, .width = 3, .grid = grid};
      for (index_t i = 0; i < side; ++i) {
        CAPTURE(grid);
        CAPTURE(side);
        CAPTURE(i);
        const auto held = g.cells_holding(i, side);
        index_t first = -1, last = -1;  // brute force over the rows of cells (column 0)
        for (index_t cy = 0; cy < grid; ++cy) {
          const auto cell = g.cell_at(cy * grid);
          if (i >= cell.y0 && i < cell.y1) {
            if (first < 0) first = cy;
            last = cy + 1;
          }
        }
        CHECK(held.first == first);
        CHECK(held.last == last);
      }
    }
}
