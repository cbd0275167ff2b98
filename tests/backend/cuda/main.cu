// doctest main for the CUDA tests: exits with 77 (CTest "skipped") when no device is usable.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include <simclr/backend/cuda/device.cuh>

int main(int argc, char** argv) {
  if (!simclr::cuda_backend::device_available()) {
    std::printf("SKIPPED: the CUDA tests need a CUDA device (%s)\n",
                simclr::cuda_backend::unavailable_reason().c_str());
    return 77;
  }
  std::printf("CUDA device: %s\n", simclr::cuda_backend::device_description().c_str());
  doctest::Context context(argc, argv);
  return context.run();
}
