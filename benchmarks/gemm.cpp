// bench_gemm: SGEMM throughput of ops::gemm on the CPU backend (GFLOP/s, median of repeats).
//   bench_gemm [size ...]        default: 256 512 1024 2048
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <simclr/simclr.hpp>

using namespace simclr;

int main(int argc, char** argv) {
  std::vector<index_t> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atol(argv[i]));
  if (sizes.empty()) sizes = {256, 512, 1024, 2048};
  std::printf("%-8s %-8s %12s %12s\n", "size", "threads", "median ms", "GFLOP/s");
  for (index_t n : sizes) {
    tensor<float> a(shape{n, n}, uninitialized), b(shape{n, n}, uninitialized),
        c(shape{n, n}, uninitialized);
    random::fill_uniform(a.view(), random::key(1), -1.f, 1.f);
    random::fill_uniform(b.view(), random::key(2), -1.f, 1.f);
    std::vector<double> ms;
    const int reps = n >= 2048 ? 5 : 11;
    for (int r = 0; r < reps + 1; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      ops::gemm(a, b, c);
      const auto t1 = std::chrono::steady_clock::now();
      if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    std::printf("%-8td %-8zu %12.3f %12.1f\n", n, parallel::num_threads(), med,
                2.0 * double(n) * double(n) * double(n) / (med * 1e6));
  }
}
