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
#include <simclr/nn/batch_norm.hpp>
#include <simclr/nn/batch_norm_group.hpp>

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

TEST_CASE("data_parallel on a device model: global BatchNorm and gradients summed over the group "
          "of one stay one process's") {
  distributed::local_communicator one;
  staged_one comm(one);
  auto net = dp_model(distributed::gathered_nt_xent<float, staged_one>(comm, {.temperature = 0.5}));
  auto reference = dp_model(loss::nt_xent<float, cuda_t>({.temperature = 0.5}));
  // Global BatchNorm (the default) on device tensors, and small buckets: several all-reduces,
  // packed from and unpacked into device gradients.
  distributed::data_parallel dp(net, comm, {.bucket_bytes = 2048});
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

namespace {
/// The group of one: its sums are the process's own.
struct dp_group_of_one final : nn::batch_norm_group {
  void sum(std::span<double>) override {}
};
}  // namespace

TEST_CASE("global BatchNorm on device tensors over a group of one equals batch_norm") {
  for (const bool relu : {false, true}) {
    CAPTURE(relu);
    nn::batch_norm<float, cuda_t> global({.channels = 3}), local({.channels = 3});
    const auto x = to_device(parity::random_host(shape{4, 3, 5, 5}, 31, -2.0f, 3.0f));
    const auto dy = to_device(parity::random_host(shape{4, 3, 5, 5}, 32));
    tensor<float, cuda_t> y_global, y_local, dx_global, dx_local;
    {
      dp_group_of_one one;
      nn::global_batch_norm scope(one);
      y_global = global.forward(tensor<float, cuda_t>(x), mode::train, {.relu = relu});
      dx_global = relu ? global.backward(dy, y_global) : global.backward(dy);
    }
    y_local = local.forward(tensor<float, cuda_t>(x), mode::train, {.relu = relu});
    dx_local = relu ? local.backward(dy, y_local) : local.backward(dy);
    CHECK(dp_relative_gap(y_global, y_local) < 1e-5);
    CHECK(dp_relative_gap(dx_global, dx_local) < 1e-4);
    CHECK(dp_relative_gap(global.gamma_grad(), local.gamma_grad()) < 1e-4);
    CHECK(dp_relative_gap(global.beta_grad(), local.beta_grad()) < 1e-4);
    const auto eval_g = global.forward(x, mode::eval), eval_l = local.forward(x, mode::eval);
    CHECK(dp_relative_gap(eval_g, eval_l) < 1e-5);  // the running statistics moved alike
  }
}
