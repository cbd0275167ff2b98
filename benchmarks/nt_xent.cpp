// bench_nt_xent: NT-Xent forward + backward (value and dz) in float32, median ms per call.
//   bench_nt_xent [2N ...]       default: 512 2048 8192, D = 128, τ = 0.1
// Printed next to benchmarks/nt_xent_torch.py by benchmarks/nt_xent.sh ("result" lines are for
// the script; "#" lines for people). Threads: SIMCLR_NUM_THREADS (the script sets 2).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <simclr/loss/nt_xent.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>

using namespace simclr;

int main(int argc, char** argv) {
  std::vector<index_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atol(argv[i]));
  if (sizes.empty()) sizes = {512, 2048, 8192};
  const index_t d = 128;
  for (const index_t rows : sizes) {
    tensor<float> z(shape{rows, d}, uninitialized);
    random::fill_normal(z.view(), random::key(7));
    loss::nt_xent<float> l({.temperature = 0.1});
    const int reps = rows >= 8192 ? 7 : rows >= 2048 ? 21 : 51;
    std::vector<double> ms;
    double value = 0;
    for (int r = 0; r < reps + 2; ++r) {  // two warm-up calls (workspace, page faults)
      const auto t0 = std::chrono::steady_clock::now();
      const auto out = l(z);
      const auto t1 = std::chrono::steady_clock::now();
      value = out.value;
      if (r >= 2) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("# simclr  2N %-6td D %-4td threads %zu  median %9.3f ms  loss %.5f\n", rows, d,
                parallel::num_threads(), ms[ms.size() / 2], value);
    std::printf("result simclr_%td %.4f\n", rows, ms[ms.size() / 2]);
  }
}
