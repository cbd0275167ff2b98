// expect: the policy holds an op without a device version
#include <simclr/augment/policy.hpp>
#include <simclr/augment/view_params.hpp>

// A user op (a cutout) has no device version: drawing device view parameters for a policy that
// holds it stops at compile time, naming the ops that do run on the device.
struct my_cutout {
  simclr::tensor<float> operator()(const simclr::tensor<float>& img, simclr::random::stream&) const {
    return img;
  }
};

void f() {
  using namespace simclr;
  const augment::compose<augment::random_resized_crop, my_cutout> policy(
      augment::random_resized_crop(32), my_cutout{});
  random::stream rng(random::key(1));
  (void)augment::draw_view_params(policy, 32, 32, 3, rng);
}
