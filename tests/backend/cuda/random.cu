// The counter-based streams give the same numbers on the device as on the host.
#include <simclr/random/cuda/fill.cuh>
#include <simclr/transfer.cuh>

#include <cmath>
#include <cstring>

#include <doctest/doctest.h>

using namespace simclr;

TEST_CASE("device fill_uniform is bit-identical to the host fill") {
  const random::key k = random::derive(99, 4, 2);
  tensor<float> host(shape{1000, 33}, uninitialized);
  random::fill_uniform(host.view(), k, -1.f, 2.f);
  tensor<float, cuda_t> dev(shape{1000, 33}, uninitialized);
  random::fill_uniform(dev.view(), k, -1.f, 2.f);
  const auto back = to_host(dev);
  CHECK(std::memcmp(back.data(), host.data(), host.bytes()) == 0);
}

TEST_CASE("device fill_normal matches the host fill to the last bits of log/cos") {
  const random::key k(5);
  tensor<double> host(shape{4096}, uninitialized);
  random::fill_normal(host.view(), k);
  tensor<double, cuda_t> dev(shape{4096}, uninitialized);
  random::fill_normal(dev.view(), k);
  const auto back = to_host(dev);
  double worst = 0;
  for (index_t i = 0; i < host.numel(); ++i)
    worst = std::max(worst, std::abs(back.data()[i] - host.data()[i]));
  CHECK(worst < 1e-12);
}

namespace {
__global__ void philox_kat_kernel(random::block4* out) {
  *out = random::philox4x32({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                            {{0xa4093822u, 0x299f31d0u}});
}
}  // namespace

TEST_CASE("philox4x32 known-answer vector on the device") {
  random::block4* d = nullptr;
  SIMCLR_CUDA_CHECK(cudaMalloc(&d, sizeof(random::block4)));
  philox_kat_kernel<<<1, 1>>>(d);
  SIMCLR_CUDA_CHECK(cudaGetLastError());
  random::block4 h{};
  SIMCLR_CUDA_CHECK(cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost));
  SIMCLR_CUDA_CHECK(cudaFree(d));
  CHECK(h == random::block4{{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}
