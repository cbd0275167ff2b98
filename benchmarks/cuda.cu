// bench_cuda: a SimCLR training step of ResNet-18 and NT-Xent forward + backward on the GPU.
//   bench_cuda step    [views (1024)] [reps (10)]  ResNet-18 (CIFAR stem) on 3×32×32, MLP head
//                                                   (512 → 512 → 128), NT-Xent τ = 0.5, SGD m = 0.9
//   bench_cuda nt_xent [2N (8192)]    [reps (20)]  D = 128, τ = 0.1, float32
//   bench_cuda augment [views (1024)] [reps (10)]  device two_views: CIFAR policy on 32×32
//                                                   images, then the ImageNet policy (blur on)
//                                                   to 224 px from 256×256 images (views / 4)
// Add --precision tf32|bf16 (or --tf32) for the float GEMMs' mode (docs/cuda.md). Prints "#" lines for people and
// "result <name> <value>" lines for benchmarks/gpu_check.sh, next to benchmarks/cuda_torch.py.
// --profile: after the timed calls, one more call between cudaProfilerStart and cudaProfilerStop,
// so `ncu --profile-from-start off` sees exactly one step (benchmarks/gpu_profile.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <cuda_profiler_api.h>

#include <simclr/cuda.cuh>

using namespace simclr;

namespace {
bool profile_one_call = false;

/// Median milliseconds of `reps` calls of f after two warm-up calls, the device synchronised
/// around each call; with --profile, one more call inside a profiler range.
template <class F>
double median_ms(int reps, F&& f) {
  std::vector<double> ms;
  for (int r = 0; r < reps + 2; ++r) {
    cuda_backend::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    cuda_backend::synchronize();
    const auto t1 = std::chrono::steady_clock::now();
    if (r >= 2) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  if (profile_one_call) {
    SIMCLR_CUDA_CHECK(cudaProfilerStart());
    f();
    cuda_backend::synchronize();
    SIMCLR_CUDA_CHECK(cudaProfilerStop());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

int step(index_t views, int reps) {
  auto f = encoders::resnet18<float, cuda_t>({.stem = encoders::stem::cifar, .seed = 1});
  model net{std::move(f), head::mlp<float, cuda_t>::v1({.in = 512, .out = 128}),
            loss::nt_xent<float, cuda_t>({.temperature = 0.5})};
  optim::sgd<float, cuda_t> opt({.momentum = 0.9, .weight_decay = 1e-6});
  tensor<float, cuda_t> x(shape{views, 3, 32, 32}, uninitialized);
  random::fill_uniform(x.view(), random::key(2));
  double loss = 0;
  const double ms = median_ms(reps, [&] { loss = net.train_step(x, opt, 0.01).loss; });
  std::printf("# simclr  resnet18 step  views %td  median %8.2f ms  %8.0f views/s  loss %.4f\n",
              views, ms, views / ms * 1e3, loss);
  std::printf("result simclr_step_views_per_s %.1f\n", views / ms * 1e3);
  return 0;
}

int nt_xent(index_t rows, int reps) {
  tensor<float, cuda_t> z(shape{rows, 128}, uninitialized);
  random::fill_normal(z.view(), random::key(7));
  loss::nt_xent<float, cuda_t> l({.temperature = 0.1});
  double value = 0;
  const double ms = median_ms(reps, [&] { value = l(z).value; });
  std::printf("# simclr  nt_xent  2N %td  D 128  median %8.3f ms  loss %.5f\n", rows, ms, value);
  std::printf("result simclr_nt_xent_ms %.4f\n", ms);
  return 0;
}
/// Device two_views of `views / 2` random 8-bit h×w×3 images (host-side draws included).
template <class Policy>
double augment_views_per_s(const Policy& policy, index_t views, index_t h, index_t w, int reps,
                           const char* name) {
  const index_t n = views / 2;
  tensor<std::uint8_t> host(shape{n, h, w, 3}, uninitialized);
  random::stream rng(random::key(3));
  for (std::uint8_t& v : host.values()) v = static_cast<std::uint8_t>(rng.next_u32());
  const tensor<std::uint8_t, cuda_t> images = to_device(host);
  std::uint64_t batch = 0;
  const double ms = median_ms(reps, [&] {
    const auto out = augment::two_views(policy, images, {.seed = 1, .epoch = 0, .batch_index = batch++});
    (void)out;
  });
  std::printf("# simclr  device augment  %s  %td views of %td×%td  median %8.3f ms  %10.0f views/s\n",
              name, 2 * n, h, w, ms, 2 * n / ms * 1e3);
  return 2 * n / ms * 1e3;
}

int augment_bench(index_t views, int reps) {
  const double cifar = augment_views_per_s(augment::cifar_policy(), views, 32, 32, reps, "cifar 32 px");
  const double imagenet =
      augment_views_per_s(augment::imagenet_policy(), std::max<index_t>(2, views / 4), 256, 256,
                          reps, "imagenet 224 px");
  std::printf("result simclr_augment_cifar_views_per_s %.1f\n", cifar);
  std::printf("result simclr_augment_imagenet_views_per_s %.1f\n", imagenet);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--profile") {
      profile_one_call = true;
    } else if (a == "--tf32") {
      cuda_backend::set_precision(cuda_backend::precision::tf32);
    } else if (a == "--precision" && i + 1 < argc) {
      const std::string p = argv[++i];
      if (p != "fp32" && p != "tf32" && p != "bf16") {
        std::printf("bench_cuda: --precision %s: expected fp32, tf32 or bf16\n", p.c_str());
        return 2;
      }
      cuda_backend::set_precision(p == "tf32"   ? cuda_backend::precision::tf32
                                  : p == "bf16" ? cuda_backend::precision::bf16
                                                : cuda_backend::precision::fp32);
    } else {
      args.emplace_back(argv[i]);
    }
  }
  if (!cuda_backend::device_available()) {
    std::printf("bench_cuda: no CUDA device (%s)\n", cuda_backend::unavailable_reason().c_str());
    return 77;
  }
  std::printf("# %s, GEMM precision %s\n", cuda_backend::device_description().c_str(),
              cuda_backend::to_string(cuda_backend::current_precision()));
  const std::string what = args.empty() ? "step" : args[0];
  const auto arg = [&](std::size_t i, long fallback) {
    return args.size() > i ? std::atol(args[i].c_str()) : fallback;
  };
  try {
    if (what == "step") return step(arg(1, 1024), static_cast<int>(arg(2, 10)));
    if (what == "nt_xent") return nt_xent(arg(1, 8192), static_cast<int>(arg(2, 20)));
    if (what == "augment") return augment_bench(arg(1, 1024), static_cast<int>(arg(2, 10)));
  } catch (const std::exception& e) {
    std::printf("bench_cuda: %s\n", e.what());
    return 1;
  }
  std::printf("usage: bench_cuda step|nt_xent|augment [size] [reps] [--precision fp32|tf32|bf16]\n");
  return 2;
}
