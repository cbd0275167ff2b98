// bench_gemm: SGEMM throughput of ops::gemm on the CPU backend (GFLOP/s, median of repeats).
//   bench_gemm [size ...]                 default: 256 512 1024 2048
//   bench_gemm --paired ISA [size ...]    ISA's path against the generic path, alternating
//                                         call by call in this process
// --paired is for bench_gemm_blas (EIGEN_USE_BLAS), where the generic path hands each row block
// to the system BLAS: the register tiles and OpenBLAS then meet in one process, round by round,
// so a slow phase of a shared machine hits both alike. It prints both medians and the median
// of the per-round ratios.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <simclr/simclr.hpp>

using namespace simclr;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double time_ms(const tensor<float>& a, const tensor<float>& b, tensor<float>& c) {
  const auto t0 = std::chrono::steady_clock::now();
  ops::gemm(a, b, c);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double gflops(index_t n, double ms) {
  return 2.0 * double(n) * double(n) * double(n) / (ms * 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  int first = 1;
  bool paired = false;
  cpu_isa isa = current_cpu_isa();
  if (argc > 2 && std::string_view(argv[1]) == "--paired") {
    paired = true;
    isa = parse_cpu_isa(argv[2], "bench_gemm --paired");
    first = 3;
  }
  std::vector<index_t> sizes;
  for (int i = first; i < argc; ++i) sizes.push_back(std::atol(argv[i]));
  if (sizes.empty()) sizes = {256, 512, 1024, 2048};
  if (paired) {
    std::printf("%-8s %-8s %10s %10s %14s %14s %12s\n", "size", "threads", "ISA ms", "generic ms",
                "ISA GFLOP/s", "generic GFLOP/s", "ratio");
  } else {
    std::printf("%-8s %-8s %12s %12s\n", "size", "threads", "median ms", "GFLOP/s");
  }
  for (index_t n : sizes) {
    tensor<float> a(shape{n, n}, uninitialized), b(shape{n, n}, uninitialized),
        c(shape{n, n}, uninitialized);
    random::fill_uniform(a.view(), random::key(1), -1.f, 1.f);
    random::fill_uniform(b.view(), random::key(2), -1.f, 1.f);
    const int reps = n >= 2048 ? (paired ? 9 : 5) : (paired ? 21 : 11);
    if (!paired) {
      std::vector<double> ms;
      for (int r = 0; r < reps + 1; ++r) {
        const double t = time_ms(a, b, c);
        if (r > 0) ms.push_back(t);  // the first call warms up
      }
      const double med = median(ms);
      std::printf("%-8td %-8zu %12.3f %12.1f\n", n, parallel::num_threads(), med, gflops(n, med));
      continue;
    }
    std::vector<double> mine, generic, ratio;
    for (int r = 0; r < reps + 1; ++r) {
      double t[2];
      for (int k = 0; k < 2; ++k) {  // odd rounds the generic path first
        const bool tiles = (k == 0) == (r % 2 == 0);
        set_cpu_isa(tiles ? isa : cpu_isa::generic);
        t[tiles ? 0 : 1] = time_ms(a, b, c);
      }
      if (r == 0) continue;
      mine.push_back(t[0]);
      generic.push_back(t[1]);
      ratio.push_back(t[1] / t[0]);  // > 1: ISA's path is faster
    }
    const double m0 = median(mine), m1 = median(generic);
    std::printf("%-8td %-8zu %10.3f %10.3f %14.1f %14.1f %12.3f\n", n, parallel::num_threads(), m0,
                m1, gflops(n, m0), gflops(n, m1), median(ratio));
  }
}
