// expect: gemm needs A, B and C of one scalar type
#include <simclr/ops/gemm.hpp>

void f() {
  using namespace simclr;
  tensor<float> a(shape{2, 2});
  tensor<double> b(shape{2, 2}), c(shape{2, 2});
  ops::gemm(a, b, c);
}
