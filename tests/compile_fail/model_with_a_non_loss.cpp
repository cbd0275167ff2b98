// expect: contrastive_loss
// A model whose third part is not a contrastive loss: the error names the concept.
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/model.hpp>

struct not_a_loss {
  double operator()(const simclr::tensor<float>& z);
};
void f() {
  simclr::model net{simclr::encoders::resnet18<float>(), simclr::head::mlp<float>::v1({.in = 512}),
                    not_a_loss{}};
}
