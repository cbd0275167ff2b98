#include <simclr/parameter.hpp>

#include <doctest/doctest.h>

TEST_CASE("parameter: roles decide weight decay, not names") {
  simclr::tensor<float> w(simclr::shape{4, 4}), g(simclr::shape{4, 4});
  const simclr::parameter<float> weight{"fc.weight", simclr::parameter_role::weight, &w, &g};
  const simclr::parameter<float> gamma{"bn.weight", simclr::parameter_role::norm_scale, &w, &g};
  CHECK(weight.decays());
  CHECK_FALSE(gamma.decays());  // torchvision names BN γ "weight": the role says otherwise
  CHECK(simclr::to_string(simclr::parameter_role::norm_shift) == "norm_shift");
}
