// custom_augmentation: a user-written op (random cutout) in a SimCLR policy.
#include <cstdio>
#include <vector>

#include <simclr/simclr.hpp>

#include "random_cutout.hpp"

using namespace simclr;

// The concept is all a user op needs: a const call (image, stream) -> tensor<float, cpu_t>.
static_assert(augmentation<random_cutout>, "random_cutout must satisfy simclr::augmentation");

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
  return 0;
}
