// quickstart: the core of simclr in one page — tensors, keyed randomness, the thread pool and a
// backend-dispatched GEMM — used to measure how well two noisy "views" of each embedding find
// each other among 2N candidates (the contrastive top-1 that NT-Xent training maximises).
//
//   ./quickstart [N] [D] [noise] [seed]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <simclr/simclr.hpp>

using namespace simclr;

namespace {

/// Rows scaled to unit length: u_i = z_i / ‖z_i‖.
void normalise_rows(tensor<float>& z) {
  auto m = interop::as_eigen(z);
  m.rowwise().normalize();
}

/// Two views of N base embeddings: rows i and i + N are base_i plus independent noise, with
/// every draw keyed by (seed, view, sample) as the augmentation pipeline keys its draws.
tensor<float> two_views(const tensor<float>& base, float noise, std::uint64_t seed) {
  const index_t n = base.extent(0), d = base.extent(1);
  tensor<float> z(shape{2 * n, d}, uninitialized);
  parallel::parallel_for(0, 2 * n, 64, [&](index_t lo, index_t hi) {
    for (index_t row = lo; row < hi; ++row) {
      const index_t view = row / n, sample = row % n;
      const random::key k = random::derive(seed, /*view*/ view, /*sample*/ sample);
      for (index_t j = 0; j < d; ++j)
        z(row, j) = base(sample, j) + noise * random::normal_at<float>(k, std::uint64_t(j));
    }
  });
  return z;
}

}  // namespace

int main(int argc, char** argv) {
  const index_t n = argc > 1 ? std::atol(argv[1]) : 512;
  const index_t d = argc > 2 ? std::atol(argv[2]) : 128;
  const float noise = argc > 3 ? std::strtof(argv[3], nullptr) : 1.0f;
  const std::uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 42;
  if (n < 2 || d < 1 || !(noise >= 0)) {
    std::fprintf(stderr, "usage: quickstart [N ≥ 2] [D ≥ 1] [noise ≥ 0] [seed]\n");
    return 2;
  }

  std::printf("simclr %d.%d.%d quickstart: N = %td images, D = %td, noise = %.2f, %zu threads\n",
              version_major, version_minor, version_patch, n, d, noise,
              parallel::num_threads());

  tensor<float> base(shape{n, d}, uninitialized);
  random::fill_normal(base.view(), random::derive(seed, /*op*/ 0xBA5E));
  auto z = two_views(base, noise, seed);
  normalise_rows(z);

  // S = U Uᵀ: cosine similarities of all 2N views, one GEMM on the CPU backend.
  const auto s = ops::matmul(z, z, {.transpose_b = true});

  // For each anchor i: is its positive (i + N) mod 2N the most similar other view?
  index_t correct = 0;
  double pos_sum = 0, neg_sum = 0;
  for (index_t i = 0; i < 2 * n; ++i) {
    const index_t p = (i + n) % (2 * n);
    index_t best = -1;
    for (index_t k = 0; k < 2 * n; ++k) {
      if (k == i) continue;
      if (best < 0 || s(i, k) > s(i, best)) best = k;
      if (k != p) neg_sum += s(i, k);
    }
    correct += best == p;
    pos_sum += s(i, p);
  }
  const double two_n = double(2 * n);
  std::printf("mean cosine similarity: positives %.4f, negatives %.4f\n", pos_sum / two_n,
              neg_sum / (two_n * (two_n - 2)));
  std::printf("contrastive top-1 (positive is the nearest of %td others): %.2f%%\n",
              2 * n - 1, 100.0 * double(correct) / two_n);
  std::printf("same seed, same numbers: rerun with SIMCLR_NUM_THREADS=1 to check.\n");
  return 0;
}
