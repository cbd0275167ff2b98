// batch_prefetcher (train/cuda/prefetch.cuh): asynchronous host→device copies of the next batch.
#include <simclr/train/cuda/prefetch.cuh>
#include <simclr/transfer.cuh>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/random/fill.hpp>

using namespace simclr;

TEST_CASE("batch_prefetcher: each batch arrives intact, the staging buffers alternate") {
  auto pf = make_batch_prefetcher(cuda_t{}, std::type_identity<float>{});
  std::vector<tensor<float>> host;
  for (std::uint64_t b = 0; b < 5; ++b) {  // sizes change: the staging buffers grow
    tensor<float> t(shape{static_cast<index_t>(100 + 300 * b), 7}, uninitialized);
    random::fill_uniform(t.view(), random::key(b), -1.f, 1.f);
    host.push_back(std::move(t));
  }
  pf.start(host[0]);
  for (std::size_t b = 0; b < host.size(); ++b) {
    const tensor<float, cuda_t> dev = pf.take();
    if (b + 1 < host.size()) pf.start(host[b + 1]);  // overlaps the use of batch b
    host[b].values()[0] += 0.0f;  // the host may reuse its tensors at once
    const tensor<float> back = to_host(dev);
    REQUIRE(back.shape() == host[b].shape());
    CHECK(std::memcmp(back.data(), host[b].data(), host[b].bytes()) == 0);
  }
  CHECK_FALSE(pf.busy());
}

TEST_CASE("batch_prefetcher: 8-bit batches; take before start and start twice are errors") {
  auto pf = make_batch_prefetcher(cuda_t{}, std::type_identity<std::uint8_t>{});
  CHECK_THROWS_AS((void)pf.take(), value_error);
  tensor<std::uint8_t> images(shape{4, 8, 8, 3});
  for (index_t i = 0; i < images.numel(); ++i) images.data()[i] = static_cast<std::uint8_t>(i * 7);
  pf.start(images);
  CHECK_THROWS_AS(pf.start(images), value_error);
  const auto back = to_host(pf.take());
  CHECK(std::memcmp(back.data(), images.data(), images.bytes()) == 0);
}
