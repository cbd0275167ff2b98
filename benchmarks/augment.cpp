// bench_augment: views/s of SimCLR's policy on one core, and two_views on 1 and 2 threads.
//   bench_augment [reps]         default 15 repetitions; prints "result <name> <views/s>" lines
//                                (median over repetitions) that benchmarks/augment.sh tabulates.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include <simclr/simclr.hpp>

using namespace simclr;

namespace {

std::vector<augment::image_f32> make_images(int n, index_t h, index_t w) {
  std::vector<augment::image_f32> out;
  for (int i = 0; i < n; ++i) {
    augment::image_f32 img(shape{3, h, w}, uninitialized);  // (3, H, W) in [0, 1]
    random::fill_uniform(img.view(), random::derive(99, static_cast<std::uint64_t>(i)));
    out.push_back(std::move(img));
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct rates {
  double wall;  // views per second of elapsed time
  double cpu;   // views per second of this thread's CPU time (robust to other load)
};

/// Median views/s of `policy` over `views` calls per repetition, on the calling thread.
template <class Policy>
rates policy_rate(const Policy& policy, const std::vector<augment::image_f32>& images, int views,
                  int reps) {
  std::vector<double> wall, cpu;
  double sink = 0.0;
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    for (int v = 0; v < views; ++v) {
      random::stream rng(
          random::derive(1, static_cast<std::uint64_t>(r), static_cast<std::uint64_t>(v)));
      const tensor<float> out = policy(images[static_cast<std::size_t>(v) % images.size()], rng);
      sink += static_cast<double>(out.data()[0]);
    }
    const double c = thread_cpu_seconds() - c0;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) {  // the first repetition warms up
      wall.push_back(views / s);
      cpu.push_back(views / c);
    }
  }
  if (sink == -1.0) std::puts("");
  return {median(wall), median(cpu)};
}

/// Median views/s of two_views on a batch (2N views per call) with a pool of `threads`.
template <class Policy>
double batch_rate(const Policy& policy, const std::vector<augment::image_f32>& images,
                  std::size_t threads, int reps) {
  parallel::thread_pool pool(threads);
  std::vector<double> rates;
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const tensor<float> batch =
        augment::two_views(policy, std::span<const augment::image_f32>(images),
                           {1, 0, static_cast<std::uint64_t>(r)}, {}, pool);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r > 0) rates.push_back(static_cast<double>(batch.extent(0)) / s);
  }
  return median(rates);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 15;
  const auto cifar = augment::cifar_policy();
  const auto imagenet = augment::imagenet_policy();
  const auto small = make_images(64, 32, 32);   // CIFAR-size inputs
  const auto large = make_images(8, 375, 500);  // a typical ImageNet photo (500×375)

  std::printf("# simclr augmentations, -O3 -march=native, median of %d repetitions\n", reps);
  const rates r32 = policy_rate(cifar, small, 2000, reps);
  const rates r224 = policy_rate(imagenet, large, 60, reps);
  std::printf("result simclr_policy_32_1core %.0f\nresult simclr_policy_32_1core_cpu %.0f\n",
              r32.wall, r32.cpu);
  std::printf("result simclr_policy_224_1core %.0f\nresult simclr_policy_224_1core_cpu %.0f\n",
              r224.wall, r224.cpu);
  const auto batch_small = make_images(256, 32, 32);
  const auto batch_large = make_images(32, 375, 500);
  for (const std::size_t t : {std::size_t{1}, std::size_t{2}}) {
    std::printf("result two_views_32_b256_%zuthreads %.0f\n", t,
                batch_rate(cifar, batch_small, t, reps));
    std::printf("result two_views_224_b32_%zuthreads %.0f\n", t,
                batch_rate(imagenet, batch_large, t, std::max(3, reps / 3)));
  }
  return 0;
}
