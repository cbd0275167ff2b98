// data_parallel under mpirun: k processes with n images each train exactly as one process on
// the k·n images (a ResNet with BatchNorm in its encoder and head, gathered negatives, two SGD
// steps with momentum; every parameter and running statistic within 1e-10 in double), whatever
// each rank's own initialisation; the negative controls (each rank's own BatchNorm
// statistics, averaged gradients, no initial broadcast) do not; a state that differs between
// ranks is refused on every rank. The same with a global batch that k does not divide (the
// ranks' slices one image apart). Through train::fit (float, the loader's own views): k
// processes train as one, also on a batch of 11, and a checkpoint of k processes resumes on one
// process and on k alike.
#include <simclr/distributed/data_parallel.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/distributed/gathered_nt_xent.hpp>
#include <simclr/distributed/mpi.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/augment/policy.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/train/trainer.hpp>

#include "support/toy_data.hpp"

namespace {

using simclr::index_t;
using simclr::shape;
using simclr::tensor;
namespace dist = simclr::distributed;
namespace enc = simclr::encoders;

using encoder_t = enc::resnet<enc::basic_block, double>;
using head_t = simclr::head::mlp<double>;
using dp_net = simclr::model<encoder_t, head_t, dist::gathered_nt_xent<double, dist::mpi_communicator>>;
using one_net = simclr::model<encoder_t, head_t, simclr::loss::nt_xent<double>>;

constexpr index_t global_images = 12, side = 6;  // 12 = 1·12 = 2·6 = 3·4 = 4·3
constexpr double tau = 0.5, lr = 0.2;

encoder_t make_encoder(std::uint64_t seed) {
  return encoder_t({.blocks = {1, 1}, .base_width = 4, .in_channels = 1,
                    .stem = enc::stem::cifar, .seed = seed});
}
head_t make_head(std::uint64_t seed) {
  return head_t::v1({.in = 8, .hidden = 8, .out = 4, .batch_norm = true, .seed = seed + 1});
}

/// Step `s` of the global two-view batch (2N, 1, side, side): view 1 of every image, then view 2.
tensor<double> global_views(int s, index_t images = global_images) {
  tensor<double> v(shape{2 * images, 1, side, side});
  simclr::random::fill_normal(v.view(), simclr::random::key(700 + static_cast<std::uint64_t>(s)));
  return v;
}
/// Rank r's (2n, 1, side, side): its view-1 images, then its view-2 images — its slice of the
/// global batch as train::fit's loader cuts it (train::slice_of_batch).
tensor<double> rank_views(const tensor<double>& global, index_t r, index_t k) {
  const index_t per = side * side, images = global.extent(0) / 2;
  const auto [first, n] = simclr::train::slice_of_batch(images, static_cast<int>(r), static_cast<int>(k));
  tensor<double> v(shape{2 * n, 1, side, side}, simclr::uninitialized);
  for (index_t half = 0; half < 2; ++half)
    std::copy_n(global.data() + (half * images + first) * per, n * per, v.data() + half * n * per);
  return v;
}

/// Every parameter and buffer value, in visit order.
template <class Module, class T = typename Module::scalar_type>
std::vector<T> state_of(Module& m) {
  std::vector<T> out;
  m.visit_state(
      [&](const simclr::nn::state_ref<T, simclr::cpu_t>& s) {
        if (s.value) out.insert(out.end(), s.value->values().begin(), s.value->values().end());
      },
      "");
  return out;
}

double worst_relative(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    w = std::max(w, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), 1e-3));
  return w;
}

/// Two steps on the global batch by one process (computed on every rank alike).
std::vector<double> one_process_state(index_t images = global_images) {
  one_net net(make_encoder(100), make_head(100), simclr::loss::nt_xent<double>({.temperature = tau}));
  simclr::optim::sgd<double> opt(simclr::optim::sgd_options{.momentum = 0.9});
  for (int s = 0; s < 2; ++s) (void)net.train_step(global_views(s, images), opt, lr);
  return state_of(net);
}

/// Two steps by this rank of k, its model initialised with its own seed.
/// The mistakes the negative controls make on purpose.
struct mistakes {
  bool average_gradients = false;  ///< divide the summed gradients by k (DDP's habit)
  bool no_broadcast = false;       ///< keep each rank's own initialisation
  bool no_overlap = false;         ///< not a mistake: every bucket started after backward
};

/// Two steps by this rank of k, its model initialised with its own seed.
std::vector<double> data_parallel_state(dist::mpi_communicator& comm, bool global_bn,
                                        std::vector<double>* losses = nullptr,
                                        int bn_group = 0, mistakes wrong = {},
                                        index_t images = global_images) {
  const index_t k = comm.size(), r = comm.rank();
  const auto seed = static_cast<std::uint64_t>(100 + 17 * r);  // rank 0's wins the broadcast
  dp_net net(make_encoder(seed), make_head(seed), dist::gathered_nt_xent<double, dist::mpi_communicator>(
                                            comm, {.temperature = tau}));
  dist::data_parallel dp(net, comm, {.global_batch_norm = global_bn,
                                     .batch_norm_group_size = bn_group, .bucket_bytes = 1024,
                                     .overlap_backward = !wrong.no_overlap,
                                     .broadcast_initial_state = !wrong.no_broadcast});
  simclr::optim::sgd<double> opt(simclr::optim::sgd_options{.momentum = 0.9});
  for (int s = 0; s < 2; ++s) {
    const auto m = dp.forward_backward(rank_views(global_views(s, images), r, k));
    if (losses) losses->push_back(m.loss);
    const auto params = dp.parameters();
    if (wrong.average_gradients)
      for (const auto& p : params)
        for (index_t i = 0; i < p.grad->numel(); ++i) p.grad->data()[i] /= double(k);
    opt.step(std::span<const simclr::parameter<double, simclr::cpu_t>>(params), lr);
  }
  return state_of(dp);
}

}  // namespace

TEST_CASE("data_parallel: k processes train as one process on the global batch (double)") {
  dist::mpi_communicator comm;
  const auto want = one_process_state();
  std::vector<double> losses;
  const auto got = data_parallel_state(comm, true, &losses);
  CHECK(worst_relative(got, want) <= 1e-10);
  // The loss is the global batch's on every rank: the same value everywhere.
  std::vector<double> sum = losses;
  comm.all_reduce_sum(std::span<double>(sum));
  for (std::size_t i = 0; i < losses.size(); ++i)
    CHECK(sum[i] == doctest::Approx(losses[i] * comm.size()).epsilon(1e-12));
  // Negative controls, each another computation: BatchNorm over each rank's own images;
  // gradients averaged over the ranks instead of summed (the loss is already the global
  // batch's mean); each rank starting from its own initialisation (no broadcast).
  if (comm.size() > 1) {
    CHECK(worst_relative(data_parallel_state(comm, false), want) > 1e-6);
    CHECK(worst_relative(data_parallel_state(comm, true, nullptr, 0, {.average_gradients = true}),
                         want) > 1e-6);
    CHECK(worst_relative(data_parallel_state(comm, true, nullptr, 0, {.no_broadcast = true}),
                         want) > 1e-6);
  }
}

TEST_CASE("data_parallel: a global batch the ranks split unevenly trains as one process") {
  // 11 images: 5 + 6 on two ranks, 3 + 4 + 4 on three, 2 + 3 + 3 + 3 on four — gathered
  // negatives padded to the widest rank, BatchNorm over the uneven counts.
  dist::mpi_communicator comm;
  constexpr index_t images = 11;
  const auto want = one_process_state(images);
  const auto got = data_parallel_state(comm, true, nullptr, 0, {}, images);
  CHECK(worst_relative(got, want) <= 1e-10);
  if (comm.size() > 1) {  // each rank's own BatchNorm statistics: another computation
    CHECK(worst_relative(data_parallel_state(comm, false, nullptr, 0, {}, images), want) > 1e-6);
  }
}

TEST_CASE("data_parallel: sums started during backward equal sums started after it, bit for bit") {
  dist::mpi_communicator comm;
  std::vector<double> la, lb;
  const auto overlapped = data_parallel_state(comm, true, &la);
  const auto after = data_parallel_state(comm, true, &lb, 0, {.no_overlap = true});
  CHECK(overlapped == after);
  CHECK(la == lb);
  // With the ResNet and the MLP head announcing their gradients, every bucket starts during
  // backward; without overlap none does.
  for (const bool overlap : {true, false}) {
    dp_net net(make_encoder(100), make_head(100),
               dist::gathered_nt_xent<double, dist::mpi_communicator>(comm, {.temperature = tau}));
    dist::data_parallel dp(net, comm, {.bucket_bytes = 1024, .overlap_backward = overlap});
    (void)dp.forward_backward(rank_views(global_views(0), comm.rank(), comm.size()));
    CHECK(dp.buckets() > 3);
    CHECK(dp.buckets_started_in_backward() == (overlap ? dp.buckets() : 0));
  }
}

TEST_CASE("data_parallel: BatchNorm over groups of ranks (batch_norm_group_size)") {
  dist::mpi_communicator comm;
  const int k = comm.size();
  const auto all = data_parallel_state(comm, true);
  const auto own = data_parallel_state(comm, false);
  // A group of every rank is the global BatchNorm; groups of one rank are each rank's own.
  CHECK(worst_relative(data_parallel_state(comm, true, nullptr, k), all) <= 1e-10);
  CHECK(worst_relative(data_parallel_state(comm, true, nullptr, 1), own) <= 1e-10);
  if (k == 4) {  // pairs of ranks: neither
    const auto pairs = data_parallel_state(comm, true, nullptr, 2);
    CHECK(worst_relative(pairs, all) > 1e-6);
    CHECK(worst_relative(pairs, own) > 1e-6);
  }
  dp_net net(make_encoder(100), make_head(100),
             dist::gathered_nt_xent<double, dist::mpi_communicator>(comm, {.temperature = tau}));
  CHECK_THROWS_WITH_AS(dist::data_parallel(net, comm, {.batch_norm_group_size = k + 1}),
                       doctest::Contains("expected 0 (all ranks) or a divisor of the number of ranks"),
                       simclr::value_error);
}

TEST_CASE("data_parallel: ranks that start from different states are refused on every rank") {
  dist::mpi_communicator comm;
  dp_net net(make_encoder(100 + static_cast<std::uint64_t>(comm.rank())), make_head(100),
             dist::gathered_nt_xent<double, dist::mpi_communicator>(comm, {.temperature = tau}));
  if (comm.size() == 1) {
    CHECK_NOTHROW(dist::verify_same_state<double, simclr::cpu_t>(comm, net, "start"));
    return;
  }
  try {
    dist::verify_same_state<double, simclr::cpu_t>(comm, net, "start");
    FAIL("no error");
  } catch (const simclr::distributed_error& e) {
    const std::string what = e.what();
    CHECK(what.find("rank " + std::to_string(comm.rank())) != std::string::npos);
    CHECK(what.find(std::to_string(comm.size() - 1) + " of " + std::to_string(comm.size()) +
                    " ranks hold a state that differs from rank 0's") != std::string::npos);
    CHECK(what.find(comm.rank() == 0 ? "this rank agrees" : "this rank differs") !=
          std::string::npos);
  }
  // After the broadcast, the same states.
  dist::broadcast_state<double, simclr::cpu_t>(comm, net);
  CHECK_NOTHROW(dist::verify_same_state<double, simclr::cpu_t>(comm, net, "after broadcast"));
}

namespace {

namespace fs = std::filesystem;
using f_encoder = enc::resnet<enc::basic_block, float>;
using f_head = simclr::head::mlp<float>;
using f_dp_net =
    simclr::model<f_encoder, f_head, dist::gathered_nt_xent<float, dist::mpi_communicator>>;
using f_one_net = simclr::model<f_encoder, f_head, simclr::loss::nt_xent<float>>;

f_encoder f_make_encoder(std::uint64_t seed) {
  return f_encoder({.blocks = {1, 1}, .base_width = 4, .in_channels = 1,
                    .stem = enc::stem::cifar, .seed = seed});
}
f_head f_make_head(std::uint64_t seed) {
  return f_head::v1({.in = 8, .hidden = 8, .out = 4, .batch_norm = true, .seed = seed + 1});
}
simclr::optim::sgd<float> f_sgd() {
  return simclr::optim::sgd<float>(simclr::optim::sgd_options{.momentum = 0.9});
}
simclr::train::trainer_options fit_options(const fs::path& dir, index_t stop_after,
                                           index_t batch = 12) {
  return {.epochs = 2, .stop_after_epochs = stop_after, .batch_size = batch, .seed = 3,
          .base_lr = 0.05, .warmup_epochs = 0, .out_dir = dir,
          .progress = simclr::train::progress_style::none, .metadata = {}};
}
double f_worst(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    w = std::max(w, double(std::abs(a[i] - b[i])) / std::max(double(std::abs(b[i])), 1e-2));
  return w;
}

}  // namespace

TEST_CASE("data_parallel through train::fit: k processes train as one; checkpoints resume "
          "with another number of processes") {
  dist::mpi_communicator comm;
  const int k = comm.size(), r = comm.rank();
  const simclr::test::toy_images data(24, 12, 3, 6);  // 2 global batches of 12 per epoch
  const auto policy = simclr::augment::fashion_mnist_policy(10);
  const fs::path tmp = fs::temp_directory_path();
  const std::string tag = std::to_string(k) + "-" + std::to_string(r);
  const fs::path shared = tmp / ("simclr-dp-fit-" + std::to_string(k));  // rank 0 writes
  if (r == 0) fs::remove_all(shared);
  comm.barrier();

  // One process on every global batch, 2 epochs (each rank computes it alike).
  f_one_net one(f_make_encoder(100), f_make_head(100), simclr::loss::nt_xent<float>({.temperature = 0.5}));
  auto opt_one = f_sgd();
  (void)simclr::train::fit(one, opt_one, data, policy, fit_options(tmp / ("simclr-dp-one-" + tag), 0));
  const auto want = state_of(one);
  {  // training moved the state far beyond the tolerance of the comparisons below
    f_one_net start(f_make_encoder(100), f_make_head(100), simclr::loss::nt_xent<float>({.temperature = 0.5}));
    CHECK(f_worst(state_of(start), want) > 1e-2);
  }

  // k processes, the first epoch, from each rank's own initialisation (rank 0's is broadcast).
  {
    f_dp_net net(f_make_encoder(100 + 17 * static_cast<std::uint64_t>(r)), f_make_head(100),
                 dist::gathered_nt_xent<float, dist::mpi_communicator>(comm, {.temperature = 0.5}));
    dist::data_parallel dp(net, comm);
    auto opt = f_sgd();
    const auto res = simclr::train::fit(dp, opt, data, policy, fit_options(shared, 1));
    CHECK(res.steps.size() == 2);
    CHECK(res.last_checkpoint == shared / "checkpoint.safetensors");
    CHECK(fs::exists(shared / "train.jsonl"));
  }
  // The second epoch on one process, from the k processes' checkpoint.
  {
    f_one_net net(f_make_encoder(5), f_make_head(5), simclr::loss::nt_xent<float>({.temperature = 0.5}));
    auto opt = f_sgd();
    (void)simclr::train::fit(net, opt, data, policy, fit_options(tmp / ("simclr-dp-resume1-" + tag), 0),
                             shared / "checkpoint.safetensors");
    CHECK(f_worst(state_of(net), want) <= 1e-5);
  }
  comm.barrier();  // every rank has read the checkpoint before rank 0 writes the next one
  // The second epoch on k processes, from the same checkpoint.
  {
    f_dp_net net(f_make_encoder(7), f_make_head(7),
                 dist::gathered_nt_xent<float, dist::mpi_communicator>(comm, {.temperature = 0.5}));
    dist::data_parallel dp(net, comm);
    auto opt = f_sgd();
    const auto res = simclr::train::fit(dp, opt, data, policy, fit_options(shared, 0),
                                        shared / "checkpoint.safetensors");
    CHECK(res.steps.size() == 2);
    CHECK(res.epochs_done == 2);
    CHECK(f_worst(state_of(dp), want) <= 1e-5);
  }
  // Rank 0 alone wrote the log: one line per global step.
  if (r == 0) {
    std::ifstream log(shared / "train.jsonl");
    std::string line;
    int lines = 0;
    while (std::getline(log, line)) ++lines;
    CHECK(lines == 4);
  }
}

TEST_CASE("data_parallel through train::fit: a global batch of 11 over k processes trains as one") {
  dist::mpi_communicator comm;
  const int k = comm.size(), r = comm.rank();
  const simclr::test::toy_images data(24, 12, 3, 6);  // 2 global batches of 11 per epoch
  const auto policy = simclr::augment::fashion_mnist_policy(10);
  const fs::path tmp = fs::temp_directory_path();
  const std::string tag = std::to_string(k) + "-" + std::to_string(r);
  f_one_net one(f_make_encoder(100), f_make_head(100), simclr::loss::nt_xent<float>({.temperature = 0.5}));
  auto opt_one = f_sgd();
  (void)simclr::train::fit(one, opt_one, data, policy,
                           fit_options(tmp / ("simclr-dp-odd-one-" + tag), 0, 11));
  f_dp_net net(f_make_encoder(100 + 17 * static_cast<std::uint64_t>(r)), f_make_head(100),
               dist::gathered_nt_xent<float, dist::mpi_communicator>(comm, {.temperature = 0.5}));
  dist::data_parallel dp(net, comm);
  auto opt = f_sgd();
  const fs::path dir = tmp / ("simclr-dp-odd-" + std::to_string(k));  // rank 0 writes
  if (r == 0) fs::remove_all(dir);
  comm.barrier();
  const auto res = simclr::train::fit(dp, opt, data, policy, fit_options(dir, 0, 11));
  CHECK(res.steps.size() == 4);
  CHECK(f_worst(state_of(dp), state_of(one)) <= 1e-5);
}
