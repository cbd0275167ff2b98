// bench_conv_layers: every distinct convolution of the two benchmark encoders on its own —
// forward, weight gradient alone, and the input gradient (backward with it, less the weight
// gradient alone) — in ms and GFLOP/s, medians. Says which layers and which pass hold a step's
// time, on the path SIMCLR_CPU_ISA picks (no PyTorch side: bench_encoder compares whole steps).
//   bench_conv_layers [fmnist|r18|all] [reps (5)] [threads (this machine's)] [winograd|direct|VAR]
// With `winograd`, every pass runs both with Winograd F(2 × 2, 3 × 3) where it applies and with
// SIMCLR_CONV_WINOGRAD=0 (im2col), alternating within each round, and the table gives the ms of
// both and their ratio (im2col / Winograd); with `direct`, the same for the direct kernels
// (direct_conv3, direct_weight_grad, direct_input_grad) against SIMCLR_CONV_DIRECT=0 (the paths
// before them); with any other name, the same for VAR=0 against VAR unset.
// fmnist: fmnist-r18w16 (widths 16–128, 28 × 28, 512 views); r18: ResNet-18's CIFAR form
// (widths 64–512, 32 × 32, 128 views). "x" is how often the layer occurs in one encoder; the
// encoder total counts each layer that often, without the stem's input gradient (never needed).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <simclr/backend/cpu/isa.hpp>
#include <simclr/nn/conv2d.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>

using namespace simclr;

namespace {

struct layer {
  const char* model;
  index_t count, n, c, size, c_out, kernel, stride;
};

// The distinct convolutions of resnet18<float>({.base_width, .stem = cifar}) and how often each
// occurs (the stem, each stage's first block with its 1 × 1 shortcut, the other three 3 × 3).
constexpr layer layers[] = {
    {"fmnist", 1, 512, 1, 28, 16, 3, 1},    {"fmnist", 4, 512, 16, 28, 16, 3, 1},
    {"fmnist", 1, 512, 16, 28, 32, 3, 2},   {"fmnist", 1, 512, 16, 28, 32, 1, 2},
    {"fmnist", 3, 512, 32, 14, 32, 3, 1},   {"fmnist", 1, 512, 32, 14, 64, 3, 2},
    {"fmnist", 1, 512, 32, 14, 64, 1, 2},   {"fmnist", 3, 512, 64, 7, 64, 3, 1},
    {"fmnist", 1, 512, 64, 7, 128, 3, 2},   {"fmnist", 1, 512, 64, 7, 128, 1, 2},
    {"fmnist", 3, 512, 128, 4, 128, 3, 1},  {"r18", 1, 128, 3, 32, 64, 3, 1},
    {"r18", 4, 128, 64, 32, 64, 3, 1},      {"r18", 1, 128, 64, 32, 128, 3, 2},
    {"r18", 1, 128, 64, 32, 128, 1, 2},     {"r18", 3, 128, 128, 16, 128, 3, 1},
    {"r18", 1, 128, 128, 16, 256, 3, 2},    {"r18", 1, 128, 128, 16, 256, 1, 2},
    {"r18", 3, 128, 256, 8, 256, 3, 1},     {"r18", 1, 128, 256, 8, 512, 3, 2},
    {"r18", 1, 128, 256, 8, 512, 1, 2},     {"r18", 3, 128, 512, 4, 512, 3, 1},
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double ms_of(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

/// One pass's medians: forward, weight gradient alone, input gradient.
struct times {
  double fwd, dw, dx;
};

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "all";
  const int reps = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  if (argc > 3 && std::atoi(argv[3]) > 0)
    parallel::set_num_threads(static_cast<std::size_t>(std::atoi(argv[3])));
  const std::string versus = argc > 4 ? argv[4] : "";
  const bool compare = !versus.empty();
  const bool direct = versus == "direct";
  const std::string toggle_name = direct               ? "SIMCLR_CONV_DIRECT"
                                  : versus == "winograd" ? "SIMCLR_CONV_WINOGRAD"
                                                         : versus;
  const char* toggle = toggle_name.c_str();
  const std::string label = direct ? "direct" : "wino";
  std::printf("path %s, %zu threads, medians of %d\n",
              std::string(to_string(current_cpu_isa())).c_str(), parallel::num_threads(), reps);
  if (compare) {
    const std::string f = "fwd ms im2col/" + label, w = "dw ms im2col/" + label,
                      d = "dx ms im2col/" + label;
    std::printf("%-7s %3s %5s %4s %4s %5s %2s %2s %19s %5s %19s %5s %19s %5s\n", "model", "x", "n",
                "c", "size", "c_out", "k", "s", f.c_str(), "x", w.c_str(), "x", d.c_str(), "x");
  } else {
    std::printf("%-7s %3s %5s %4s %4s %5s %2s %2s %9s %7s %9s %7s %9s %7s\n", "model", "x", "n",
                "c", "size", "c_out", "k", "s", "fwd ms", "GFLOP/s", "dw ms", "GFLOP/s", "dx ms",
                "GFLOP/s");
  }
  double total[2] = {0, 0};
  std::string model;
  auto print_total = [&] {
    if (compare) {
      std::printf("%-7s encoder total (each layer × its count): im2col %.1f ms, %s where it "
                  "applies %.1f ms (%.2f×)\n",
                  model.c_str(), total[0], direct ? "the direct kernels" : "Winograd",
                  total[1], total[0] / total[1]);
    } else {
      std::printf("%-7s encoder total (each layer × its count): %.1f ms\n", model.c_str(),
                  total[1]);
    }
    total[0] = total[1] = 0;
  };
  for (const layer& l : layers) {
    if (which != "all" && which != l.model) continue;
    if (model != l.model && !model.empty()) print_total();
    model = l.model;
    nn::conv2d<float> conv({l.c, l.c_out, l.kernel, l.stride, l.kernel / 2});
    conv.reset_parameters(random::key(1));
    tensor<float> x(shape{l.n, l.c, l.size, l.size}, uninitialized);
    random::fill_normal(x.view(), random::key(2));
    // [variant]: 0 im2col (compare only), 1 the default.
    std::vector<double> fwd[2], dw[2], both[2];
    tensor<float> y;
    for (int r = 0; r < reps + 1; ++r) {  // the first round warms the caches and the allocator
      for (int v = compare ? 0 : 1; v < 2; ++v) {
        if (v == 0) setenv(toggle, "0", 1);
        const double f = ms_of([&] { y = conv.forward_ref(x, mode::train); });
        conv.set_input_gradient(false);
        const double w = ms_of([&] { (void)conv.backward(y); });
        conv.set_input_gradient(true);
        const double b = ms_of([&] { (void)conv.backward(y); });
        unsetenv(toggle);
        if (r == 0) continue;
        fwd[v].push_back(f);
        dw[v].push_back(w);
        both[v].push_back(b);
      }
    }
    times t[2] = {};
    for (int v = compare ? 0 : 1; v < 2; ++v) {
      t[v].fwd = median(fwd[v]);
      t[v].dw = median(dw[v]);
      t[v].dx = std::max(1e-9, median(both[v]) - t[v].dw);
    }
    // The stem (the one layer that sees the images' 1 or 3 channels) never computes dx.
    const bool stem = l.c <= 3;
    for (int v = 0; v < 2; ++v)
      total[v] += double(l.count) * (t[v].fwd + t[v].dw + (stem ? 0.0 : t[v].dx));
    if (compare) {
      std::printf("%-7s %3td %5td %4td %4td %5td %2td %2td %9.2f %9.2f %5.2f %9.2f %9.2f %5.2f "
                  "%9.2f %9.2f %5.2f\n",
                  l.model, l.count, l.n, l.c, l.size, l.c_out, l.kernel, l.stride, t[0].fwd,
                  t[1].fwd, t[0].fwd / t[1].fwd, t[0].dw, t[1].dw, t[0].dw / t[1].dw, t[0].dx,
                  t[1].dx, t[0].dx / t[1].dx);
      continue;
    }
    const index_t out = (l.size + 2 * (l.kernel / 2) - l.kernel) / l.stride + 1;
    const double gflop =
        2.0 * double(l.n * l.c_out * out * out) * double(l.c * l.kernel * l.kernel) * 1e-9;
    std::printf("%-7s %3td %5td %4td %4td %5td %2td %2td %9.2f %7.1f %9.2f %7.1f %9.2f %7.1f\n",
                l.model, l.count, l.n, l.c, l.size, l.c_out, l.kernel, l.stride, t[1].fwd,
                gflop / t[1].fwd * 1e3, t[1].dw, gflop / t[1].dw * 1e3, t[1].dx,
                gflop / t[1].dx * 1e3);
  }
  if (!model.empty()) print_total();
}
