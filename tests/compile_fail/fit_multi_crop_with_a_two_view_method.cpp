// expect: a multi-crop policy needs a model that satisfies simclr::multi_crop_model
// BYOL (a trainable_model that takes two views only) given a multi-crop policy.
#include <simclr/augment/multi_crop.hpp>
#include <simclr/data/dataset.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/methods/byol.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/train/trainer.hpp>

void f(const simclr::data::dataset& d) {
  using mlp = simclr::head::mlp<float>;
  simclr::methods::byol net{simclr::encoders::resnet18<float>(), mlp::v1({.in = 512}),
                            mlp::v1({.in = 128})};
  simclr::optim::sgd<float> opt(simclr::optim::sgd_options{});
  (void)simclr::train::fit(net, opt, d, simclr::augment::fashion_mnist_multi_crop(), {});
}
