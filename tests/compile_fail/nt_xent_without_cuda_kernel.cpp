// expect: op 'nt_xent' has no kernel for this backend
// NT-Xent on CUDA tensors in a translation unit that has not included the CUDA loss kernels.
#include <simclr/loss/nt_xent.hpp>

void f(const simclr::tensor<float, simclr::cuda_t>& z) {
  simclr::loss::nt_xent<float, simclr::cuda_t> loss;
  (void)loss(z);
}
