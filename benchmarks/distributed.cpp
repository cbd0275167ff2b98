// bench_distributed: one data-parallel SimCLR step of the fmnist-r18w16 recipe under MPI — the
// step's wall time, and the time and bytes of every collective it makes, per step (median over
// the measured steps; a collective's time on the rank that waited least, and in brackets most). Run by benchmarks/distributed.sh as 1 process × 1 thread, 1 process ×
// 2 threads and 2 processes × 1 thread (SIMCLR_NUM_THREADS) for scaling and communication share.
//
//   mpirun -np K bench_distributed [global_batch = 256] [steps = 20]
//
// The views are random (N, 1, 28, 28) tensors — the step's compute and communication without
// the loader — and the model is fmnist_simclr's: ResNet-18 width 16, MLP head 128–128–128,
// NT-Xent τ 0.2 with gathered negatives, global BatchNorm, gradients summed in 4 MiB buckets.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <simclr/distributed/data_parallel.hpp>
#include <simclr/distributed/gathered_nt_xent.hpp>
#include <simclr/distributed/mpi.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/random/fill.hpp>

using namespace simclr;
using clock_type = std::chrono::steady_clock;

namespace {

/// The collectives a step makes, as the timing communicator counts them.
enum kind : int { reduce, reduce_async, gather, scatter, bcast, barrier_kind, kinds };
const std::array<const char*, kinds> kind_names = {
    "all_reduce (BN statistics, loss sums)", "all_reduce async (gradient buckets)",
    "all_gather (z)", "reduce_scatter (dz)", "broadcast", "barrier"};

/// A communicator that forwards to another and adds up the seconds and bytes of each kind of
/// collective (an asynchronous all-reduce counts the time its wait() blocks). It satisfies
/// distributed::communicator, so data_parallel and gathered_nt_xent take it as they take MPI's.
template <distributed::communicator Comm>
class timing_communicator {
 public:
  explicit timing_communicator(Comm& inner) : inner_(&inner) {}
  [[nodiscard]] int rank() const { return inner_->rank(); }
  [[nodiscard]] int size() const { return inner_->size(); }

  template <class T>
  void all_reduce_sum(std::span<T> x) {
    timed(reduce, x.size_bytes(), [&] { inner_->all_reduce_sum(x); });
  }
  template <class T>
  void all_gather(std::span<const T> send, std::span<T> recv) {
    timed(gather, recv.size_bytes(), [&] { inner_->all_gather(send, recv); });
  }
  template <class T>
  void reduce_scatter_sum(std::span<const T> send, std::span<T> recv) {
    timed(scatter, send.size_bytes(), [&] { inner_->reduce_scatter_sum(send, recv); });
  }
  template <class T>
  void broadcast(std::span<T> x, int root) {
    timed(bcast, x.size_bytes(), [&] { inner_->broadcast(x, root); });
  }
  void barrier() {
    timed(barrier_kind, 0, [&] { inner_->barrier(); });
  }

  /// The inner pending collective; wait() adds its blocking time.
  class pending {
   public:
    using inner_pending = decltype(std::declval<Comm&>().all_reduce_sum_async(std::span<float>()));
    pending(inner_pending p, timing_communicator* owner) : p_(std::move(p)), owner_(owner) {}
    void wait() {
      const auto t0 = clock_type::now();
      p_.wait();
      owner_->seconds_[reduce_async] +=
          std::chrono::duration<double>(clock_type::now() - t0).count();
    }

   private:
    inner_pending p_;
    timing_communicator* owner_;
  };
  template <class T>
  [[nodiscard]] pending all_reduce_sum_async(std::span<T> x) {
    bytes_[reduce_async] += static_cast<double>(x.size_bytes());
    ++calls_[reduce_async];
    return pending(inner_->all_reduce_sum_async(x), this);
  }

  void reset() {
    seconds_.fill(0.0);
    bytes_.fill(0.0);
    calls_.fill(0);
  }
  [[nodiscard]] const std::array<double, kinds>& seconds() const { return seconds_; }
  [[nodiscard]] const std::array<double, kinds>& bytes() const { return bytes_; }
  [[nodiscard]] const std::array<long, kinds>& calls() const { return calls_; }

 private:
  template <class F>
  void timed(kind k, std::size_t bytes, F&& f) {
    const auto t0 = clock_type::now();
    f();
    seconds_[k] += std::chrono::duration<double>(clock_type::now() - t0).count();
    bytes_[k] += static_cast<double>(bytes);
    ++calls_[k];
  }

  Comm* inner_;
  std::array<double, kinds> seconds_{};
  std::array<double, kinds> bytes_{};
  std::array<long, kinds> calls_{};
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  distributed::mpi_environment mpi(&argc, &argv);  // each process its share of the cores
  distributed::mpi_communicator world;
  timing_communicator<distributed::mpi_communicator> comm(world);
  const index_t batch = argc > 1 ? std::atol(argv[1]) : 256;
  const int steps = argc > 2 ? std::atoi(argv[2]) : 20, warmup = 3;
  if (batch < 1 || batch % comm.size() != 0 || steps < 1)
    throw value_error("bench_distributed: global batch " + std::to_string(batch) + " over " +
                      std::to_string(comm.size()) + " processes, " + std::to_string(steps) +
                      " steps: expected a positive batch divisible by the process count");
  const index_t n = batch / comm.size();

  using loss_t = distributed::gathered_nt_xent<float, timing_communicator<distributed::mpi_communicator>>;
  model net{encoders::resnet18<float>({.base_width = 16, .in_channels = 1,
                                       .stem = encoders::stem::cifar, .seed = 0}),
            head::mlp<float>::v1({.in = 128, .hidden = 128, .out = 128, .batch_norm = false, .seed = 0}),
            loss_t(comm, {.temperature = 0.2})};
  distributed::data_parallel dp(net, comm);
  optim::sgd<float> sgd({.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  tensor<float> views(shape{2 * n, 1, 28, 28}, uninitialized);

  std::vector<double> step_s;
  std::vector<std::array<double, kinds>> comm_s;
  std::array<double, kinds> bytes{};
  std::array<long, kinds> calls{};
  for (int s = 0; s < warmup + steps; ++s) {
    random::fill_normal(views.view(), random::derive(1, static_cast<std::uint64_t>(s),
                                                     static_cast<std::uint64_t>(comm.rank())));
    world.barrier();  // every rank starts the step together (not counted)
    comm.reset();
    const auto t0 = clock_type::now();
    (void)dp.forward_backward(views);
    const auto params = dp.parameters();
    sgd.step(std::span<const parameter<float>>(params), 0.1);
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (s < warmup) continue;
    step_s.push_back(secs);
    comm_s.push_back(comm.seconds());
    bytes = comm.bytes();
    calls = comm.calls();
  }
  // The slowest rank's step is the job's step: take the maximum over ranks of each median.
  std::vector<double> mine{median(step_s)};
  for (int k = 0; k < kinds; ++k) {
    std::vector<double> v;
    for (const auto& c : comm_s) v.push_back(c[static_cast<std::size_t>(k)]);
    mine.push_back(median(v));
  }
  std::vector<double> all(mine.size() * static_cast<std::size_t>(comm.size()));
  world.all_gather(std::span<const double>(mine), std::span<double>(all));
  if (comm.rank() != 0) return 0;
  // Over the ranks: the step of the slowest (the job's step); each collective's time on the
  // rank that spent least in it (the one that arrived last: transport, little waiting) and on
  // the rank that spent most (transport plus waiting for the slower ranks).
  std::vector<double> most(mine.size(), 0.0), least(mine.size(), 1e300);
  for (int r = 0; r < comm.size(); ++r)
    for (std::size_t i = 0; i < mine.size(); ++i) {
      most[i] = std::max(most[i], all[static_cast<std::size_t>(r) * mine.size() + i]);
      least[i] = std::min(least[i], all[static_cast<std::size_t>(r) * mine.size() + i]);
    }
  double comm_least = 0.0, comm_most = 0.0;
  for (std::size_t k = 0; k < kinds; ++k) {
    comm_least += least[1 + k];
    comm_most += most[1 + k];
  }
  std::printf("processes %d x threads %zu, global batch %td (%td views), %d steps (medians)\n",
              comm.size(), parallel::num_threads(), batch, 2 * batch, steps);
  std::printf("  step %.1f ms (slowest rank), %.0f views/s; collectives %.1f ms (%.1f%% of the "
              "step) on the rank that waited least, %.1f ms on the one that waited most\n",
              most[0] * 1e3, double(2 * batch) / most[0], comm_least * 1e3,
              100.0 * comm_least / most[0], comm_most * 1e3);
  for (std::size_t k = 0; k < kinds; ++k)
    if (calls[k] > 0)
      std::printf("  %-40s %3ld calls %10.1f KiB/rank %8.2f ms (%.2f ms)\n", kind_names[k],
                  calls[k], bytes[k] / 1024.0, least[1 + k] * 1e3, most[1 + k] * 1e3);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_distributed: %s\n", e.what());
  return 1;
}
