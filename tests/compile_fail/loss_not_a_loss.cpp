// expect: contrastive_loss
// A type that is not a loss, passed where the library asks for one.
#include <simclr/concepts.hpp>

struct returns_only_a_number {
  double operator()(const simclr::tensor<float>& z);
};
template <simclr::contrastive_loss L>
void train_with(L&) {}
void f() {
  returns_only_a_number l;
  train_with(l);
}
