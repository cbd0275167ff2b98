// simclr::eval::knn_classify: the weighted k-nearest-neighbour monitor on cosine similarity (docs/training.md).
#pragma once

// For each test feature q: s_j = cos(q, x_j) against every train feature x_j (both L2-normalised
// as F.normalize does, ‖·‖ clamped below at 1e-12); take the k most similar train rows (ties in
// similarity broken by the lower train index); each votes for its label with weight exp(s_j / τ);
// the prediction is the class with the largest total vote (ties to the lowest class). This is
// the monitor of InstDisc / the SimCLR and MoCo CIFAR repositories (k = 200). τ is a parameter:
// simclr's default 0.1 is the temperature of the main recipe (docs/training.md); InstDisc uses
// 0.07.
//
// Similarities come from simclr::ops::gemm over fixed blocks of `block_rows` test rows, so the
// memory is block_rows × N_train floats whatever the test size; rows are independent and the
// block boundaries fixed, so the predictions do not depend on the thread count.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <simclr/error.hpp>
#include <simclr/ops/gemm.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::eval {

/// Options of the kNN monitor.
struct knn_options {
  index_t k = 200;            ///< neighbours; clamped to the number of train rows
  double temperature = 0.1;   ///< τ of the vote weight exp(sim / τ); InstDisc uses 0.07
  index_t block_rows = 256;   ///< test rows per similarity block (memory: block_rows × N_train floats)
};

/// Result of the kNN monitor.
struct knn_result {
  double accuracy = 0.0;                  ///< top-1 against the test labels
  std::vector<std::int32_t> predictions;  ///< (N_test) predicted classes
};

/// Rows of `x` (N, D) divided by max(‖row‖, 1e-12), as a new tensor.
[[nodiscard]] inline tensor<float, cpu_t> l2_normalize_rows(tensor_view<const float, cpu_t> x) {
  if (x.rank() != 2 || !x.is_contiguous())
    throw shape_error("simclr: eval::l2_normalize_rows: features have shape " +
                      x.shape().to_string() + ", expected contiguous (N, D)");
  const index_t n = x.extent(0), d = x.extent(1);
  tensor<float, cpu_t> out(shape{n, d}, uninitialized);
  for (index_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (index_t j = 0; j < d; ++j) s += static_cast<double>(x.data()[i * d + j]) * x.data()[i * d + j];
    const double inv = 1.0 / std::max(std::sqrt(s), 1e-12);
    for (index_t j = 0; j < d; ++j)
      out.data()[i * d + j] = static_cast<float>(x.data()[i * d + j] * inv);
  }
  return out;
}

/// The kNN monitor of the module comment: predicts a class for every test row from the train
/// features (N_train, D) and labels (N_train) in [0, num_classes); accuracy against
/// `test_labels` (N_test). Throws shape_error for mismatched shapes, value_error for labels out of
/// range, k < 1, τ ≤ 0 or block_rows < 1.
[[nodiscard]] inline knn_result knn_classify(tensor_view<const float, cpu_t> train_features,
                                             tensor_view<const std::int32_t, cpu_t> train_labels,
                                             tensor_view<const float, cpu_t> test_features,
                                             tensor_view<const std::int32_t, cpu_t> test_labels,
                                             index_t num_classes, const knn_options& options = {},
                                             parallel::thread_pool& pool = parallel::default_pool()) {
  auto features = [](tensor_view<const float, cpu_t> x, const char* what) {
    if (x.rank() != 2 || !x.is_contiguous())
      throw shape_error(std::string("simclr: eval::knn_classify: ") + what + " have shape " +
                        x.shape().to_string() + ", expected contiguous (N, D)");
  };
  auto labels = [&](tensor_view<const std::int32_t, cpu_t> y, index_t n, const char* what) {
    if (y.rank() != 1 || y.extent(0) != n || !y.is_contiguous())
      throw shape_error(std::string("simclr: eval::knn_classify: ") + what + " have shape " +
                        y.shape().to_string() + ", expected (" + std::to_string(n) + ")");
    for (index_t i = 0; i < n; ++i)
      if (y.data()[i] < 0 || y.data()[i] >= num_classes)
        throw value_error(std::string("simclr: eval::knn_classify: ") + what + " " +
                          std::to_string(i) + " is " + std::to_string(y.data()[i]) +
                          ", expected 0.." + std::to_string(num_classes - 1));
  };
  features(train_features, "train features");
  features(test_features, "test features");
  if (test_features.extent(1) != train_features.extent(1))
    throw shape_error("simclr: eval::knn_classify: test features have " +
                      std::to_string(test_features.extent(1)) + " columns, train features " +
                      std::to_string(train_features.extent(1)));
  if (num_classes < 1)
    throw value_error("simclr: eval::knn_classify: num_classes is " + std::to_string(num_classes) +
                      ", expected ≥ 1");
  labels(train_labels, train_features.extent(0), "train labels");
  labels(test_labels, test_features.extent(0), "test labels");
  if (options.k < 1) throw value_error("simclr: eval::knn_options::k is " + std::to_string(options.k) + ", expected ≥ 1");
  if (!(options.temperature > 0.0))
    throw value_error("simclr: eval::knn_options::temperature is " +
                      std::to_string(options.temperature) + ", expected > 0");
  if (options.block_rows < 1)
    throw value_error("simclr: eval::knn_options::block_rows is " +
                      std::to_string(options.block_rows) + ", expected ≥ 1");
  const index_t n_train = train_features.extent(0), n_test = test_features.extent(0);
  if (n_train == 0) throw value_error("simclr: eval::knn_classify: no train features");

  const tensor<float, cpu_t> train = l2_normalize_rows(train_features);  // (N_train, D)
  const tensor<float, cpu_t> test = l2_normalize_rows(test_features);    // (N_test, D)
  const index_t k = std::min(options.k, n_train);
  const double inv_t = 1.0 / options.temperature;
  knn_result r;
  r.predictions.assign(static_cast<std::size_t>(n_test), 0);
  tensor<float, cpu_t> sim(shape{std::min(options.block_rows, std::max<index_t>(n_test, 1)), n_train},
                           uninitialized);  // (block, N_train)
  for (index_t lo = 0; lo < n_test; lo += options.block_rows) {
    const index_t rows = std::min(options.block_rows, n_test - lo);
    auto sim_rows = sim.view().slice(0, rows);
    ops::gemm(test.view().slice(lo, lo + rows), train, sim_rows, {.transpose_b = true});
    parallel::parallel_for(
        0, rows, 8,
        [&](index_t r0, index_t r1) {
          std::vector<std::pair<float, index_t>> top(static_cast<std::size_t>(n_train));
          std::vector<double> votes(static_cast<std::size_t>(num_classes));
          for (index_t i = r0; i < r1; ++i) {
            const float* s = sim_rows.data() + i * n_train;
            for (index_t j = 0; j < n_train; ++j) top[static_cast<std::size_t>(j)] = {s[j], j};
            // Larger similarity first; equal similarities: lower train index first.
            auto before = [](const std::pair<float, index_t>& a, const std::pair<float, index_t>& b) {
              return a.first > b.first || (a.first == b.first && a.second < b.second);
            };
            std::nth_element(top.begin(), top.begin() + (k - 1), top.end(), before);
            std::sort(top.begin(), top.begin() + k, before);
            std::fill(votes.begin(), votes.end(), 0.0);
            for (index_t t = 0; t < k; ++t) {
              const auto& [similarity, j] = top[static_cast<std::size_t>(t)];
              votes[static_cast<std::size_t>(train_labels.data()[j])] +=
                  std::exp(static_cast<double>(similarity) * inv_t);
            }
            const auto best = std::max_element(votes.begin(), votes.end());  // first maximum
            r.predictions[static_cast<std::size_t>(lo + i)] =
                static_cast<std::int32_t>(best - votes.begin());
          }
        },
        pool);
  }
  index_t hits = 0;
  for (index_t i = 0; i < n_test; ++i)
    hits += r.predictions[static_cast<std::size_t>(i)] == test_labels.data()[i] ? 1 : 0;
  r.accuracy = n_test > 0 ? static_cast<double>(hits) / static_cast<double>(n_test) : 0.0;
  return r;
}

}  // namespace simclr::eval
