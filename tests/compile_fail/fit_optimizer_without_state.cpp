// expect: must satisfy simclr::checkpointable_optimizer
// An optimizer that steps but cannot report its state, passed to train::fit (which writes
// checkpoints): the error names checkpointable_optimizer instead of failing inside them.
#include <span>

#include <simclr/augment/policy.hpp>
#include <simclr/data/dataset.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/model.hpp>
#include <simclr/train/trainer.hpp>

struct stateless_sgd {
  void step(std::span<const simclr::parameter<float>> params, double lr);
};
void f(const simclr::data::dataset& d) {
  simclr::model net{simclr::encoders::resnet18<float>(), simclr::head::mlp<float>::v1({.in = 512}),
                    simclr::loss::nt_xent<float>(simclr::loss::nt_xent_options{})};
  stateless_sgd opt;
  (void)simclr::train::fit(net, opt, d, simclr::augment::fashion_mnist_policy(), {});
}
