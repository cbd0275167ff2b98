// expect: must satisfy simclr::image_source
// A vector of floats is not a data set the loader can read.
#include <vector>

#include <simclr/augment/policy.hpp>
#include <simclr/train/loader.hpp>

void f(const std::vector<float>& pixels) {
  const auto policy = simclr::augment::fashion_mnist_policy();
  simclr::train::two_view_loader loader(pixels, policy, {});
}
