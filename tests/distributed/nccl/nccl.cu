// nccl_communicator on one GPU (a group of one: NCCL refuses two ranks on one GPU, so more
// ranks need a machine with more GPUs — docs/distributed.md): every collective on device
// tensors in float, double and int64, the asynchronous sum, the id sent over another
// communicator, a split, and the errors — host memory, sizes, root, options, environment.
// Its own executable (test_nccl, built when NCCL is found), so test_cuda never needs libnccl;
// exits with 77 (CTest "skipped") when no device is usable.
#define DOCTEST_CONFIG_IMPLEMENT
#include <simclr/distributed/nccl.cuh>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/backend/cuda/device.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/random/cuda/fill.cuh>
#include <simclr/transfer.cuh>

int main(int argc, char** argv) {
  if (!simclr::cuda_backend::device_available()) {
    std::printf("SKIPPED: the NCCL tests need a CUDA device (%s)\n",
                simclr::cuda_backend::unavailable_reason().c_str());
    return 77;
  }
  int version = 0;
  (void)ncclGetVersion(&version);
  std::printf("CUDA device: %s; NCCL %d (built with %d)\n",
              simclr::cuda_backend::device_description().c_str(), version, NCCL_VERSION_CODE);
  doctest::Context context(argc, argv);
  return context.run();
}

namespace {

using simclr::shape;
using simclr::tensor;
using simclr::distributed::nccl_communicator;

nccl_communicator group_of_one() {
  return nccl_communicator(simclr::distributed::nccl_unique_id(), 0, 1, {.device = 0});
}

template <class T>
tensor<T, simclr::cuda_t> device_values(std::vector<T> v) {
  tensor<T> h(shape{static_cast<simclr::index_t>(v.size())});
  for (std::size_t i = 0; i < v.size(); ++i) h.data()[i] = v[i];
  return simclr::to_device(h);
}
template <class T>
std::vector<T> host_values(const tensor<T, simclr::cuda_t>& d) {
  const auto h = simclr::to_host(d);
  return std::vector<T>(h.data(), h.data() + h.numel());
}

}  // namespace

TEST_CASE("nccl_communicator: a group of one — every collective on device memory") {
  auto c = group_of_one();
  CHECK(c.rank() == 0);
  CHECK(c.size() == 1);
  CHECK(c.device() == 0);
  CHECK(c.native() != nullptr);
  auto f = device_values<float>({1.5f, -2.f, 3.f});
  c.all_reduce_sum(std::span<float>(f.data(), 3));
  CHECK(host_values(f) == std::vector<float>{1.5f, -2.f, 3.f});
  auto i = device_values<std::int64_t>({std::int64_t(1) << 40, -7});
  c.all_reduce_sum(std::span<std::int64_t>(i.data(), 2));
  CHECK(host_values(i) == std::vector<std::int64_t>{std::int64_t(1) << 40, -7});
  // all_gather and reduce_scatter of one rank copy; broadcast from rank 0 keeps the data.
  const auto send = device_values<double>({0.25, 0.5});
  auto recv = device_values<double>({0, 0});
  c.all_gather(std::span<const double>(send.data(), 2), std::span<double>(recv.data(), 2));
  CHECK(host_values(recv) == std::vector<double>{0.25, 0.5});
  auto back = device_values<double>({9, 9});
  c.reduce_scatter_sum(std::span<const double>(recv.data(), 2), std::span<double>(back.data(), 2));
  CHECK(host_values(back) == std::vector<double>{0.25, 0.5});
  c.broadcast(std::span<double>(back.data(), 2), 0);
  CHECK(host_values(back) == std::vector<double>{0.25, 0.5});
  c.barrier();
  // Ordered after the default stream's work: a kernel's result is what the collective sees.
  tensor<float, simclr::cuda_t> z(shape{1000});  // zero-filled on the default stream
  c.all_reduce_sum(std::span<float>(z.data(), 1000));
  for (float v : host_values(z)) CHECK(v == 0.f);
}

TEST_CASE("nccl_communicator: waiting leaves no CUDA error behind for the next kernel launch") {
  // 256 MiB zero-filled on the default stream just before: the collective's event is polled
  // while still not ready, and cudaEventQuery's cudaErrorNotReady must not stay as the
  // thread's last error (every kernel launch checks cudaGetLastError()).
  auto c = group_of_one();
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    tensor<float, simclr::cuda_t> big(shape{64 << 20});
    if (round == 0) {
      c.all_reduce_sum(std::span<float>(big.data(), big.numel()));
    } else {
      auto p = c.all_reduce_sum_async(std::span<float>(big.data(), big.numel()));
      p.wait();
    }
    CHECK(cudaGetLastError() == cudaSuccess);
    // A kernel launch checked by the library (SIMCLR_CUDA_CHECK_LAUNCH) goes through.
    tensor<float, simclr::cuda_t> after(shape{1000});
    simclr::random::fill_uniform(after.view(), simclr::random::derive(7), 2.f, 3.f);
    CHECK(host_values(after)[999] >= 2.f);
  }
}

TEST_CASE("nccl_communicator: the asynchronous sum, waited once or twice or by its destructor") {
  auto c = group_of_one();
  auto a = device_values<float>({1, 2});
  auto b = device_values<double>({3, 4});
  auto pa = c.all_reduce_sum_async(std::span<float>(a.data(), 2));
  {
    auto pb = c.all_reduce_sum_async(std::span<double>(b.data(), 2));
  }  // waited by the destructor
  pa.wait();
  pa.wait();
  CHECK(host_values(a) == std::vector<float>{1, 2});
  CHECK(host_values(b) == std::vector<double>{3, 4});
}

TEST_CASE("nccl_communicator: the id sent over another communicator; a split") {
  simclr::distributed::local_communicator host;
  auto c = nccl_communicator::over(host, {.device = 0});
  CHECK(c.size() == 1);
  auto s = c.split(0);
  CHECK(s.size() == 1);
  CHECK(s.rank() == 0);
  CHECK(s.timeout_seconds() == c.timeout_seconds());
  auto x = device_values<float>({5});
  s.all_reduce_sum(std::span<float>(x.data(), 1));
  CHECK(host_values(x) == std::vector<float>{5});
  CHECK_THROWS_WITH_AS((void)c.split(-1), doctest::Contains("expected ≥ 0"), simclr::value_error);
}

TEST_CASE("nccl_communicator: host memory, sizes, root and options are refused by name") {
  auto c = group_of_one();
  std::vector<float> host(4);
  CHECK_THROWS_WITH_AS(c.all_reduce_sum(std::span<float>(host)),
                       doctest::Contains("all_reduce_sum: the buffer is not device memory"),
                       simclr::value_error);
  auto d = device_values<float>({1, 2, 3});
  CHECK_THROWS_WITH_AS(c.all_gather(std::span<const float>(d.data(), 2), std::span<float>(d.data(), 3)),
                       doctest::Contains("expected size() · 2 = 2"), simclr::value_error);
  CHECK_THROWS_WITH_AS(c.broadcast(std::span<float>(d.data(), 3), 1),
                       doctest::Contains("root 1, expected 0 ≤ root < 1"), simclr::value_error);
  const auto id = simclr::distributed::nccl_unique_id();
  CHECK_THROWS_WITH_AS(nccl_communicator(id, 1, 1), doctest::Contains("rank 1 of 1"),
                       simclr::value_error);
  CHECK_THROWS_WITH_AS(nccl_communicator(id, 0, 1, {.timeout_seconds = -1}),
                       doctest::Contains("timeout_seconds is -1"), simclr::value_error);
  CHECK_THROWS_WITH_AS(nccl_communicator(id, 0, 1, {.device = 4096}),
                       doctest::Contains("device 4096, expected 0 ≤ device <"), simclr::value_error);
  if (std::getenv("NCCL_COMM_ID") == nullptr)
    CHECK_THROWS_WITH_AS((void)nccl_communicator::from_environment(),
                         doctest::Contains("NCCL_COMM_ID is not set"), simclr::value_error);
}
