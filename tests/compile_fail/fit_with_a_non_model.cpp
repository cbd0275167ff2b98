// expect: must satisfy simclr::trainable_model
// An encoder alone (no loss, no forward_backward) passed to train::fit.
#include <simclr/augment/policy.hpp>
#include <simclr/data/dataset.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/train/trainer.hpp>

void f(const simclr::data::dataset& d) {
  auto encoder = simclr::encoders::resnet18<float>();
  simclr::optim::sgd<float> opt(simclr::optim::sgd_options{});
  (void)simclr::train::fit(encoder, opt, d, simclr::augment::fashion_mnist_policy(), {});
}
