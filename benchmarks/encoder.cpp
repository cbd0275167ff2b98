// bench_encoder: one encoder training step (forward + backward, train mode) in views/s, median.
//   bench_encoder fmnist [views] [reps]     fmnist-r18w16: widths 16/32/64/128, 1×28×28, CIFAR stem
//   bench_encoder r18    [views] [reps]     ResNet-18, CIFAR stem, 3×32×32
// Printed with the FLOP count so the GFLOP/s can be set against the machine's GEMM peak, and
// with the process CPU time per step (all threads): on a loaded machine, with one thread, the
// CPU time is the fairer comparison.
//   bench_encoder fmnist|r18 views reps VAR  A/B in one process: each round runs one step with
// the environment variable VAR=0 and one without it (odd rounds unset first), and prints both
// medians and the median of the per-round ratios (for switches such as SIMCLR_CONV_DIRECT and
// SIMCLR_CONV_WINOGRAD on a machine whose speed drifts between processes).
//   bench_encoder fmnist|r18 views reps threads   thread scaling in one process: each round
// one step on 1 thread and one on 2, alternating, and the median of the per-round ratios.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <simclr/encoders/resnet.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>

using namespace simclr;

namespace {
/// CPU time of the whole process (all threads), in ms.
double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) * 1e-6;
}
/// Multiply-adds ×2 of every conv in a forward pass, per image.
double conv_flops(index_t base, index_t in_ch, index_t size) {
  double f = 2.0 * base * in_ch * 9 * size * size;  // stem
  index_t c = base, s = size;
  for (int stage = 0; stage < 4; ++stage) {
    const index_t out = base << stage;
    const index_t so = stage == 0 ? s : (s + 1) / 2;
    for (int b = 0; b < 2; ++b) {
      const index_t cin = b == 0 ? c : out;
      f += 2.0 * out * cin * 9 * so * so + 2.0 * out * out * 9 * so * so;
      if (b == 0 && (cin != out)) f += 2.0 * out * cin * so * so;
    }
    c = out;
    s = so;
  }
  return f;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "fmnist";
  const index_t views = argc > 2 ? std::atol(argv[2]) : (which == "r18" ? 128 : 512);
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  const bool fm = which == "fmnist";
  const index_t base = fm ? 16 : 64, ch = fm ? 1 : 3, size = fm ? 28 : 32;
  auto net = encoders::resnet18<float>(
      {.base_width = base, .in_channels = ch, .stem = encoders::stem::cifar, .seed = 1});
  tensor<float> x(shape{views, ch, size, size}, uninitialized);
  random::fill_uniform(x.view(), random::key(2));
  auto step = [&] {
    net.zero_grad();
    const auto h = net.forward(x, mode::train);
    tensor<float> dh(h.shape(), uninitialized);
    dh.fill(1.0f / float(views));
    net.backward(dh);
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  // Two settings in one process: each round one step with setting 0 and one with setting 1
  // (`use(v)` switches), odd rounds setting 1 first; the medians of each and of the per-round
  // ratios t0 / t1 (with their range).
  struct paired {
    double first, second, ratio, lo, hi;
  };
  auto alternate = [&](const auto& use) {
    std::vector<double> t0s, t1s, ratio;
    for (int r = 0; r < reps + 1; ++r) {
      double t[2];
      for (int k = 0; k < 2; ++k) {
        const int v = r % 2 == 0 ? k : 1 - k;
        use(v);
        const auto start = std::chrono::steady_clock::now();
        step();
        t[v] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                   .count();
      }
      if (r == 0) continue;  // the first round warms up
      t0s.push_back(t[0]);
      t1s.push_back(t[1]);
      ratio.push_back(t[0] / t[1]);
    }
    return paired{median(t0s), median(t1s), median(ratio),
                  *std::min_element(ratio.begin(), ratio.end()),
                  *std::max_element(ratio.begin(), ratio.end())};
  };
  if (argc > 4 && std::string(argv[4]) == "threads") {  // 1 against 2 threads
    const paired p =
        alternate([](int v) { parallel::set_num_threads(static_cast<std::size_t>(v + 1)); });
    std::printf("simclr   %-7s views %-5td 1 thread median %8.1f ms, 2 threads %8.1f ms, "
                "per-round scaling median %.2f (min %.2f, max %.2f)\n",
                which.c_str(), views, p.first, p.second, p.ratio, p.lo, p.hi);
    return 0;
  }
  if (argc > 4) {  // VAR=0 against VAR unset
    const char* var = argv[4];
    const paired p = alternate([&](int v) {
      if (v == 0) {
        setenv(var, "0", 1);
      } else {
        unsetenv(var);
      }
    });
    std::printf("simclr   %-7s views %-5td threads %zu  %s=0 median %8.1f ms, unset %8.1f ms, "
                "per-round ratio median %.3f (min %.3f, max %.3f)\n",
                which.c_str(), views, parallel::num_threads(), var, p.first, p.second, p.ratio,
                p.lo, p.hi);
    unsetenv(var);
    return 0;
  }
  std::vector<double> ms, cpu;
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_ms();
    step();
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = cpu_ms();
    if (r > 0) {
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      cpu.push_back(c1 - c0);
    }
  }
  const double med = median(ms), cpu_med = median(cpu);
  const double gflop = 3.0 * conv_flops(base, ch, size) * double(views) / 1e9;  // fwd + 2× bwd
  std::printf(
      "simclr   %-7s views %-5td threads %zu  median %8.1f ms  %7.0f views/s  %6.1f GFLOP/s"
      "  cpu %8.1f ms\n",
      which.c_str(), views, parallel::num_threads(), med, double(views) / med * 1e3,
      gflop / med * 1e3, cpu_med);
}
