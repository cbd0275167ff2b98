// Device tensors: allocation, zero fill, host↔device transfers, device copies.
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/transfer.cuh>

#include <doctest/doctest.h>

using namespace simclr;

TEST_CASE("cuda tensor: zero-filled allocation and round trips") {
  const tensor<float, cuda_t> zeros(shape{3, 5});
  const auto hz = to_host(zeros);
  for (float v : hz.values()) CHECK(v == 0.f);

  tensor<double> h(shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const auto d = to_device(h);
  CHECK(d.shape() == h.shape());
  const tensor<double, cuda_t> d2 = d;  // deep device-to-device copy
  const auto back = to_host(d2);
  for (index_t i = 0; i < 6; ++i) CHECK(back.data()[i] == h.data()[i]);
  CHECK(d2.data() != d.data());
}

TEST_CASE("cuda copy: shape mismatches are rejected before any transfer") {
  const tensor<float> h(shape{4});
  tensor<float, cuda_t> d(shape{5});
  CHECK_THROWS_WITH_AS(copy<float>(h.view(), d.view()),
                       "simclr: copy host→device: destination has shape (5), expected (4)",
                       shape_error);
}

TEST_CASE("cuda errors: an impossible allocation is a cuda_error naming the status") {
  try {
    tensor<float, cuda_t> huge(shape{index_t{1} << 40});  // 4 TiB
    FAIL("allocation of 4 TiB succeeded");
  } catch (const cuda_error& e) {
    CHECK(e.status_name() == "cudaErrorMemoryAllocation");
    CHECK(std::string(e.what()).find("bytes failed") != std::string::npos);
  }
  // The device stays usable afterwards.
  const auto ok = to_host(to_device(tensor<float>(shape{2}, {1.f, 2.f})));
  CHECK(ok(1) == 2.f);
}
