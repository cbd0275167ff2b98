// staging<cuda_t>: device tensors through page-locked host buffers for a host communicator
// (staged_communicator<…, cuda_t>), here over the group of one, where every collective is the
// identity — so what comes back is exactly what the copies moved. The staging logic itself is
// checked against MPI with 1–4 ranks on CPU memory (tests/distributed/mpi/staged.cpp).
#include <simclr/distributed/cuda/staging.cuh>

#include <span>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/backend/cuda/memory.cuh>
#include <simclr/distributed/communicator.hpp>
#include <simclr/transfer.cuh>

namespace {

using simclr::cuda_t;
using simclr::distributed::local_communicator;
using simclr::distributed::staged_communicator;

/// A host communicator that says its MPI reads device memory (a CUDA-aware build).
struct cuda_aware_one : local_communicator {
  static bool reads_cuda_memory() noexcept { return true; }
};

template <class T>
std::span<T> device_span(simclr::tensor<T, cuda_t>& t) {
  return {t.data(), static_cast<std::size_t>(t.numel())};
}

}  // namespace

TEST_CASE("staging<cuda_t>: every collective round-trips device memory through pinned buffers") {
  local_communicator one;
  staged_communicator<local_communicator, cuda_t> staged(one);
  CHECK_FALSE(staged.direct());  // a host communicator cannot read device memory
  using simclr::shape;
  simclr::tensor<float> h(shape{5}, {1.5f, -2.f, 3.f, 0.25f, 7.f});
  auto x = simclr::to_device(h);
  staged.all_reduce_sum(device_span(x));
  staged.broadcast(device_span(x), 0);
  simclr::tensor<float, cuda_t> gathered(shape{5}), scattered(shape{5});
  staged.all_gather(std::span<const float>(device_span(x)), device_span(gathered));
  staged.reduce_scatter_sum(std::span<const float>(device_span(gathered)), device_span(scattered));
  {
    auto p = staged.all_reduce_sum_async(device_span(x));
    p.wait();
  }
  for (const auto* t : {&x, &gathered, &scattered}) {
    const auto back = simclr::to_host(*t);
    for (simclr::index_t i = 0; i < 5; ++i) CHECK(back.data()[i] == h.data()[i]);
  }
  CHECK(staged.pooled_buffers() == 1);
  simclr::tensor<double, cuda_t> empty(shape{0});
  staged.all_reduce_sum(device_span(empty));  // nothing to copy
}

TEST_CASE("staging<cuda_t>: a communicator that reads device memory gets it unstaged") {
  cuda_aware_one one;
  staged_communicator<cuda_aware_one, cuda_t> direct(one);
  CHECK(direct.direct());
  simclr::tensor<std::int64_t, cuda_t> n(simclr::shape{3});
  direct.all_reduce_sum(device_span(n));  // the identity, on the device pointer itself
  CHECK(direct.pooled_buffers() == 0);
}
