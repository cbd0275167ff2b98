// Data parallelism on device memory over the staged group of one: gathered_nt_xent on a device
// batch equals nt_xent, and data_parallel's gradient sums (packed into device buckets, staged
// through pinned host buffers) leave one process's gradients as they were. k processes equal
// one process is checked on CPU memory under mpirun (tests/distributed/mpi/*.cpp), through the
// same code.
#include "parity.cuh"

#include <algorithm>
#include <cmath>
#include <vector>

#include <simclr/distributed/cuda/staging.cuh>
#include <simclr/distributed/data_parallel.hpp>
#include <simclr/distributed/gathered_nt_xent.hpp>
#include <simclr/model.hpp>

using namespace simclr;

namespace {

using staged_one = distributed::staged_communicator<distributed::local_communicator, cuda_t>;

/// The largest |a − b| / (1 + |b|) over two device tensors of one shape.
double dp_relative_gap(const tensor<float, cuda_t>& a, const tensor<float, cuda_t>& b) {
  const auto ha = to_host(a), hb = to_host(b);
  double worst = 0;
  for (index_t i = 0; i < ha.numel(); ++i)
    worst = std::max(worst, std::abs(double(ha.data()[i]) - double(hb.data()[i])) /
                                (1.0 + std::abs(double(hb.data()[i]))));
  return worst;
}

template <class Loss>
auto dp_model(Loss loss) {
  return model{encoders::resnet18<float, cuda_t>({.blocks = {1, 1}, .base_width = 4,
                                                  .in_channels = 1,
                                                  .stem = encoders::stem::cifar, .seed = 7}),
               head::mlp<float, cuda_t>::v1({.in = 8, .out = 6, .seed = 8}), std::move(loss)};
}

}  // namespace

TEST_CASE("gathered_nt_xent on device memory, staged group of one: equals nt_xent on the device") {
  distributed::local_communicator one;
  staged_one comm(one);
  const auto z = to_device(parity::random_host(shape{12, 5}, 21));
  distributed::gathered_nt_xent<float, staged_one> gathered(comm, {.temperature = 0.5});
  loss::nt_xent<float, cuda_t> plain({.temperature = 0.5});
  const auto a = gathered(z);
  const auto b = plain(z);
  CHECK(a.value == doctest::Approx(b.value).epsilon(1e-6));
  CHECK(a.top1_accuracy == b.top1_accuracy);
  CHECK(dp_relative_gap(a.dz, b.dz) < 1e-6);
}

TEST_CASE("data_parallel on a device model: gradients summed over the group of one stay one "
          "process's") {
  distributed::local_communicator one;
  staged_one comm(one);
  auto net = dp_model(distributed::gathered_nt_xent<float, staged_one>(comm, {.temperature = 0.5}));
  auto reference = dp_model(loss::nt_xent<float, cuda_t>({.temperature = 0.5}));
  CHECK_THROWS_WITH_AS(distributed::data_parallel(net, comm),
                       doctest::Contains("global BatchNorm is not implemented for device models"),
                       value_error);
  // Small buckets: several all-reduces, packed from and unpacked into device gradients.
  distributed::data_parallel dp(net, comm, {.global_batch_norm = false, .bucket_bytes = 2048});
  const auto views = to_device(parity::random_host(shape{8, 1, 12, 12}, 22));
  const auto m = dp.forward_backward(views);
  const auto r = reference.forward_backward(views);
  CHECK(m.loss == doctest::Approx(r.loss).epsilon(1e-5));
  CHECK(dp.buckets() > 1);
  const auto mine = net.parameters(), theirs = reference.parameters();
  REQUIRE(mine.size() == theirs.size());
  for (std::size_t i = 0; i < mine.size(); ++i) {
    CAPTURE(i);
    CHECK(dp_relative_gap(*mine[i].grad, *theirs[i].grad) < 1e-4);
  }
  dp.verify_same_state("after a step");  // the checksum of device state, over the group
}
