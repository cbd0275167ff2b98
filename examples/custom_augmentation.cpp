// custom_augmentation: a user-written op (random cutout) in a SimCLR policy.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <simclr/simclr.hpp>

#include "random_cutout.hpp"

using namespace simclr;

// The concept is all a user op needs: a const call (image, stream) -> tensor<float, cpu_t>.
static_assert(augmentation<random_cutout>, "random_cutout must satisfy simclr::augmentation");
// With params, draw and a host/device apply it also runs on the GPU (augment::two_views of a
// device batch, train::fit's device_augment): the same draws, the same arithmetic.
static_assert(device_augmentation<random_cutout>);

int main() {
  // SimCLR's CIFAR policy followed by a cutout of 8 pixels with probability 0.5. compose takes
  // any augmentations, the library's policies included.
  const auto policy = augment::compose(augment::cifar_policy(), random_cutout{8, 0.5, 0.5f});
  static_assert(augmentation<decltype(policy)>);

  std::vector<augment::image_f32> images;
  for (std::uint64_t i = 0; i < 8; ++i) {
    augment::image_f32 img(shape{3, 32, 32}, uninitialized);  // (C, H, W) in [0, 1]
    random::fill_uniform(img.view(), random::derive(7, i));
    images.push_back(std::move(img));
  }
  const tensor<float> batch =  // (2N, 3, 32, 32): rows i and i + N are image i's two views
      augment::two_views(policy, std::span<const augment::image_f32>(images),
                         {.seed = 1, .epoch = 0, .batch_index = 0});
  int cut = 0;
  for (index_t r = 0; r < batch.extent(0); ++r) {
    int filled = 0;
    for (index_t k = 0; k < 32 * 32; ++k) filled += batch.data()[r * 3 * 32 * 32 + k] == 0.5f;
    cut += filled >= 16;
  }
  std::printf("custom_augmentation: batch %s, %d of %td views have a cutout\n",
              batch.shape().to_string().c_str(), cut, batch.extent(0));

  // The device's recipe, replayed here on the CPU: each view's draws (the policy's own ops',
  // the cutout's included) and the host/device passes give two_views' numbers up to float
  // rounding (the CPU passes are vectorised, the recipe is not).
  static_assert(device_augmentation<decltype(policy)>);
  const auto params = augment::draw_two_views_params(policy, 8, 32, 32, 3,
                                                     {.seed = 1, .epoch = 0, .batch_index = 0});
  double worst = 0.0;
  for (index_t r = 0; r < batch.extent(0); ++r) {
    const augment::image_f32 view = augment::apply_view(params[static_cast<std::size_t>(r)],
                                                        images[static_cast<std::size_t>(r % 8)]);
    for (index_t k = 0; k < view.numel(); ++k)
      worst = std::max(worst, static_cast<double>(std::abs(view.data()[k] -
                                                           batch.data()[r * view.numel() + k])));
  }
  std::printf("custom_augmentation: the device recipe on the CPU: max |difference| %.2g\n", worst);
  return worst <= 1e-5 ? 0 : 1;
}
