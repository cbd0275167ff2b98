// bench_augment: views/s of SimCLR's policy on one core, and two_views on 1 and 2 threads
// (alternating, with the median of the per-round scaling).
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

/// Views/s of two_views on a batch (2N views per call) with pools of 1 and 2 threads, the two
/// alternating call by call (odd rounds 2 threads first), so a slow phase of a shared machine
/// hits both alike: the medians of each, and the median of the per-round ratios 2 / 1 thread.
struct scaling {
  double one, two, ratio;
};
template <class Policy>
scaling batch_rates(const Policy& policy, const std::vector<augment::image_f32>& images,
                    int reps) {
  parallel::thread_pool pools[2] = {parallel::thread_pool(1), parallel::thread_pool(2)};
  std::vector<double> rates[2], ratios;
  for (int r = 0; r < reps + 1; ++r) {
    double rate[2];
    for (int k = 0; k < 2; ++k) {
      const int p = r % 2 == 0 ? k : 1 - k;
      const auto t0 = std::chrono::steady_clock::now();
      const tensor<float> batch =
          augment::two_views(policy, std::span<const augment::image_f32>(images),
                             {1, 0, static_cast<std::uint64_t>(r)}, {}, pools[p]);
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rate[p] = static_cast<double>(batch.extent(0)) / s;
    }
    if (r == 0) continue;  // the first round warms up
    rates[0].push_back(rate[0]);
    rates[1].push_back(rate[1]);
    ratios.push_back(rate[1] / rate[0]);
  }
  return {median(rates[0]), median(rates[1]), median(ratios)};
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
  const scaling s32 = batch_rates(cifar, batch_small, reps);
  const scaling s224 = batch_rates(imagenet, batch_large, reps);
  std::printf("result two_views_32_b256_1threads %.0f\nresult two_views_32_b256_2threads %.0f\n",
              s32.one, s32.two);
  std::printf("result two_views_224_b32_1threads %.0f\nresult two_views_224_b32_2threads %.0f\n",
              s224.one, s224.two);
  std::printf("result two_views_32_scaling %.2f\nresult two_views_224_scaling %.2f\n", s32.ratio,
              s224.ratio);
  return 0;
}
