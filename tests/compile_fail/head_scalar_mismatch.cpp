// expect: same_scalar_as
// A double head on a float encoder: reported through simclr's own concept, not as
// std::same_as<float, double>.
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/model.hpp>

void f() {
  simclr::model net{simclr::encoders::resnet18<float>(), simclr::head::mlp<double>::v1({.in = 512}),
                    simclr::loss::nt_xent<float>(simclr::loss::nt_xent_options{})};
}
