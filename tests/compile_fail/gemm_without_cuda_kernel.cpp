// expect: op 'gemm' has no kernel for this backend
// Calling a CUDA-backed op from a file that did not include the CUDA backend.
#include <simclr/ops/gemm.hpp>

void f() {
  using namespace simclr;
  tensor_view<const float, cuda_t> a(nullptr, shape{2, 2});
  tensor_view<float, cuda_t> c(nullptr, shape{2, 2});
  ops::gemm(a, a, c);
}
