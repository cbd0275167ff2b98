// Tests of <simclr/eval/knn.hpp>: hand-computed weighted votes, tie-breaking, k clamping,
// clustered data, and independence of the thread count and block size.
#include <simclr/eval/knn.hpp>

#include <doctest/doctest.h>

#include <simclr/random/stream.hpp>

using namespace simclr;

namespace {
tensor<std::int32_t, cpu_t> ints(std::initializer_list<std::int32_t> v) {
  return tensor<std::int32_t, cpu_t>(shape{static_cast<index_t>(v.size())}, v);
}
}  // namespace

TEST_CASE("knn_classify: the temperature decides between one close and two far neighbours") {
  // Query (1, 0). Cosines: a = (1, 0.05) → 0.99875 (class 1); b = (0.5, 1) → 0.4472 and
  // c = (0.4, 1) → 0.3714 (class 0); d = (−1, 0) → −1 (class 0, not among k = 3).
  // τ = 0.1: class 1 gets e^9.9875 ≈ 21 800, class 0 e^4.472 + e^3.714 ≈ 128 → 1.
  // τ = 10:  class 1 gets e^0.0999 ≈ 1.105, class 0 e^0.0447 + e^0.0371 ≈ 2.08 → 0.
  const tensor<float, cpu_t> train(shape{4, 2}, {1, 0.05f, 0.5f, 1, 0.4f, 1, -1, 0});
  const auto train_y = ints({1, 0, 0, 0});
  const tensor<float, cpu_t> query(shape{1, 2}, {3, 0});  // scale does not matter
  const auto query_y = ints({1});
  eval::knn_options opt;
  opt.k = 3;
  opt.temperature = 0.1;
  auto r = eval::knn_classify(train, train_y, query, query_y, 2, opt);
  CHECK(r.predictions == std::vector<std::int32_t>{1});
  CHECK(r.accuracy == 1.0);
  opt.temperature = 10.0;
  r = eval::knn_classify(train, train_y, query, query_y, 2, opt);
  CHECK(r.predictions == std::vector<std::int32_t>{0});
  CHECK(r.accuracy == 0.0);
  // k = 4 with τ = 10: d adds e^−0.1 ≈ 0.905 to class 0 — still 0; k larger than N is clamped.
  opt.k = 400;
  CHECK(eval::knn_classify(train, train_y, query, query_y, 2, opt).predictions[0] == 0);
  // k = 1: only a votes.
  opt.k = 1;
  CHECK(eval::knn_classify(train, train_y, query, query_y, 2, opt).predictions[0] == 1);
}

TEST_CASE("knn_classify: equal similarities go to the lower train index, equal votes to the lower class") {
  const tensor<float, cpu_t> train(shape{3, 2}, {0, 1, 2, 0, 1, 0});  // rows 1 and 2 coincide in direction
  const tensor<float, cpu_t> query(shape{1, 2}, {1, 0});
  eval::knn_options opt;
  opt.k = 1;
  CHECK(eval::knn_classify(train, ints({0, 2, 1}), query, ints({0}), 3, opt).predictions[0] == 2);
  CHECK(eval::knn_classify(train, ints({0, 1, 2}), query, ints({0}), 3, opt).predictions[0] == 1);
  opt.k = 2;  // rows 1 and 2 vote equally for classes 2 and 1: the lower class wins
  CHECK(eval::knn_classify(train, ints({0, 2, 1}), query, ints({0}), 3, opt).predictions[0] == 1);
}

TEST_CASE("knn_classify: clustered data, identical for any thread count and block size") {
  const index_t n_train = 600, n_test = 150, d = 8, k_classes = 3;
  tensor<float, cpu_t> train(shape{n_train, d}), test(shape{n_test, d});
  tensor<std::int32_t, cpu_t> train_y(shape{n_train}), test_y(shape{n_test});
  random::stream s(random::key(4));
  auto fill = [&](tensor<float, cpu_t>& x, tensor<std::int32_t, cpu_t>& y) {
    for (index_t i = 0; i < x.extent(0); ++i) {
      const auto c = static_cast<std::int32_t>(i % k_classes);
      y(i) = c;
      for (index_t j = 0; j < d; ++j)
        x(i, j) = (j == c ? 3.0f : 0.0f) + static_cast<float>(s.normal());
    }
  };
  fill(train, train_y);
  fill(test, test_y);
  eval::knn_options opt;
  opt.k = 20;
  parallel::thread_pool one(1), three(3);
  const auto a = eval::knn_classify(train, train_y, test, test_y, k_classes, opt, one);
  CHECK(a.accuracy > 0.85);
  opt.block_rows = 7;
  const auto b = eval::knn_classify(train, train_y, test, test_y, k_classes, opt, three);
  CHECK(a.predictions == b.predictions);
  CHECK(a.accuracy == b.accuracy);
}

TEST_CASE("knn_classify: bad shapes, labels and options are reported") {
  const tensor<float, cpu_t> x(shape{2, 2}, {1, 0, 0, 1});
  CHECK_THROWS_AS((void)eval::knn_classify(x, ints({0}), x, ints({0, 1}), 2), shape_error);
  CHECK_THROWS_WITH_AS((void)eval::knn_classify(x, ints({0, 5}), x, ints({0, 1}), 2),
                       doctest::Contains("train labels 1 is 5"), value_error);
  CHECK_THROWS_AS((void)eval::knn_classify(x, ints({0, 1}), tensor<float, cpu_t>(shape{1, 3}), ints({0}), 2),
                  shape_error);
  eval::knn_options opt;
  opt.temperature = 0.0;
  CHECK_THROWS_AS((void)eval::knn_classify(x, ints({0, 1}), x, ints({0, 1}), 2, opt), value_error);
  opt = {};
  opt.k = 0;
  CHECK_THROWS_AS((void)eval::knn_classify(x, ints({0, 1}), x, ints({0, 1}), 2, opt), value_error);
}
