// expect: no memory<Backend> for this backend
// A device tensor needs the CUDA backend's allocator (<simclr/cuda.cuh>, nvcc).
#include <simclr/tensor.hpp>

void f() { simclr::tensor<float, simclr::cuda_t> t(simclr::shape{4}); }
