// cuda_quickstart: the same similarity GEMM on the GPU by changing the backend of the tensors,
// checked against the CPU result. Exits 77 (skipped) without a CUDA device.
#include <cmath>
#include <cstdio>

#include <simclr/cuda.cuh>

using namespace simclr;

int main() {
  if (!cuda_backend::device_available()) {
    std::printf("cuda_quickstart: skipped, %s\n", cuda_backend::unavailable_reason().c_str());
    return 77;
  }
  std::printf("device: %s\n", cuda_backend::device_description().c_str());
  tensor<float> z(shape{1024, 128}, uninitialized);
  random::fill_normal(z.view(), random::derive(42, 0));

  const auto s_cpu = ops::matmul(z, z, {.transpose_b = true});   // tensor<float, cpu_t>
  const auto z_gpu = to_device(z);                                 // explicit transfer
  const auto s_gpu = ops::matmul(z_gpu, z_gpu, {.transpose_b = true});  // tensor<float, cuda_t>
  const auto s_back = to_host(s_gpu);

  double worst = 0;
  for (index_t i = 0; i < s_cpu.numel(); ++i)
    worst = std::max(worst, double(std::abs(s_cpu.data()[i] - s_back.data()[i])));
  std::printf("max |S_cpu − S_gpu| = %.3g over %td elements\n", worst, s_cpu.numel());
  return worst < 1e-3 ? 0 : 1;
}
