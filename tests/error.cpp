#include <simclr/error.hpp>

#include <doctest/doctest.h>

TEST_CASE("errors: io_error names the file, cuda_error the call site and status") {
  const simclr::io_error io("/data/x.idx", "magic number is 0x00000801, expected 0x00000803");
  CHECK(std::string(io.what()) == "/data/x.idx: magic number is 0x00000801, expected 0x00000803");
  CHECK(io.path() == "/data/x.idx");
  const simclr::cuda_error ce("cudaErrorMemoryAllocation", "cudaMalloc failed", "gemm.cuh", 42);
  CHECK(std::string(ce.what()) == "gemm.cuh:42: cudaErrorMemoryAllocation: cudaMalloc failed");
  CHECK(ce.status_name() == "cudaErrorMemoryAllocation");
  CHECK(ce.line() == 42);
  // All derive from simclr::error, so one catch handles any of them.
  CHECK_THROWS_AS(throw simclr::shape_error("x"), simclr::error);
}
