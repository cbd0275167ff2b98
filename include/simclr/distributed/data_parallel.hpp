// simclr::distributed::data_parallel: any trainable_model trained by k processes as one — the
// same start on every rank, global BatchNorm, weight gradients summed over the ranks.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <simclr/concepts.hpp>
#include <simclr/backend/memory.hpp>
#include <simclr/distributed/communicator.hpp>
#include <simclr/distributed/host_values.hpp>
#include <simclr/error.hpp>
#include <simclr/nn/batch_norm_group.hpp>
#include <simclr/nn/gradient_ready.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/parameter.hpp>

namespace simclr::distributed {

/// Rank `root`'s state of `net` — parameters, buffers (BatchNorm's running statistics, a
/// method's target network) and counters — copied to every rank, in visit order.
template <class T, backend Backend, communicator Comm, class Module>
void broadcast_state(Comm& comm, Module& net, int root = 0) {
  static_assert(std::same_as<communicator_backend<Comm>, Backend>,
                "simclr: distributed::broadcast_state: the communicator's collectives take "
                "another backend's memory than the module's tensors (a cuda_t module needs "
                "nccl_communicator or staged_communicator<mpi_communicator, cuda_t>)");
  net.visit_state(
      [&](const nn::state_ref<T, Backend>& s) {
        if (s.value != nullptr)
          comm.broadcast(std::span<T>(s.value->data(), static_cast<std::size_t>(s.value->numel())),
                         root);
        if (s.count != nullptr)  // counters are host scalars
          broadcast_host(comm, std::span<std::int64_t>(s.count->data(), 1), root);
      },
      "");
}

/// A 64-bit FNV-1a hash of every byte of the module's state (names, values, counters), in visit
/// order: equal on two ranks exactly when they hold bit-identical states (up to hash
/// collisions).
/// Device tensors are hashed from host copies (to_host of the backend, found by
/// argument-dependent lookup: <simclr/transfer.cuh> for cuda_t).
template <class T, backend Backend, class Module>
[[nodiscard]] std::uint64_t state_checksum(Module& net) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto mix = [&](const void* p, std::size_t bytes) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < bytes; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  };
  net.visit_state(
      [&](const nn::state_ref<T, Backend>& s) {
        mix(s.name.data(), s.name.size());
        if (s.value != nullptr) {
          if constexpr (Backend::host_accessible) {
            mix(s.value->data(), s.value->bytes());
          } else {
            const auto host = to_host(*s.value);
            mix(host.data(), host.bytes());
          }
        }
        if (s.count != nullptr) mix(s.count->data(), sizeof(std::int64_t));
      },
      "");
  return h;
}

/// Throws a distributed_error on every rank unless all ranks hold the same state as `root`
/// (state_checksum compared after a broadcast; the verdict is all-reduced, so no rank goes on
/// alone).
template <class T, backend Backend, communicator Comm, class Module>
void verify_same_state(Comm& comm, Module& net, const std::string& when, int root = 0) {
  const std::uint64_t mine = state_checksum<T, Backend>(net);
  std::int64_t theirs = 0;
  std::memcpy(&theirs, &mine, sizeof mine);
  std::vector<std::int64_t> v{theirs};
  broadcast_host(comm, std::span<std::int64_t>(v), root);
  std::vector<std::int64_t> differ{std::int64_t{v[0] != theirs}};
  all_reduce_host(comm, std::span<std::int64_t>(differ));
  if (differ[0] != 0)
    throw distributed_error(comm.rank(), "data_parallel: " + when,
                            std::to_string(differ[0]) + " of " + std::to_string(comm.size()) +
                                " ranks hold a state that differs from rank " +
                                std::to_string(root) + "'s (checksums of every parameter, "
                                "buffer and counter); this rank " +
                                (v[0] != theirs ? "differs" : "agrees"));
}

struct data_parallel_options {
  /// BatchNorm over the global batch (every rank's images) rather than the rank's own.
  bool global_batch_norm = true;
  /// With global_batch_norm: BatchNorm over groups of this many consecutive ranks (0: all of
  /// them), e.g. the GPUs of one machine. Must divide the number of ranks; the communicator
  /// must be able to split (mpi_communicator::split).
  int batch_norm_group_size = 0;
  /// Gradients are summed in buckets of about this many bytes, each one all-reduce, the last
  /// layers' first (the order backward finishes them).
  std::size_t bucket_bytes = std::size_t{4} << 20;
  /// Start each bucket's all-reduce during backward, as soon as its gradients are final
  /// (modules announce them with nn::gradients_ready: simclr's ResNets per block, the MLP head);
  /// false starts every bucket after backward. The sums are the same bit for bit either way.
  bool overlap_backward = true;
  /// At construction: broadcast rank 0's state and verify it with a checksum on every rank.
  bool broadcast_initial_state = true;
};

/// `Model` trained by the processes of `comm` as one process trains it on their images
/// together. Each rank holds the two views of its own n images (global batch k·n) and a model
/// whose loss sees every rank's embeddings (gathered_nt_xent). Per step:
///   1. forward and backward of the wrapped model — inside a nn::global_batch_norm scope when
///      `global_batch_norm` is set, so every BatchNorm normalises over the global batch;
///   2. the weight gradients summed over the ranks, in buckets (all_reduce_sum_async each,
///      the last layers' first), each started during backward once its gradients are final
///      (`overlap_backward`; the rest after backward). Summed, not averaged: the loss is already
///      normalised by the global batch, so each rank's gradient is its share of the global one.
/// The optimizer then takes the same step on every rank. At construction rank 0's state is
/// broadcast and checked (verify_same_state), so all ranks start bit-identical.
/// Satisfies trainable_model; visit_state and parameters are the wrapped model's.
template <trainable_model Model, communicator Comm>
class data_parallel {
 public:
  using scalar_type = scalar_of<Model>;
  using backend_type = backend_of<Model>;
  using tensor_type = tensor<scalar_type, backend_type>;
  static_assert(std::same_as<communicator_backend<Comm>, backend_type>,
                "simclr: distributed::data_parallel: the communicator's collectives take "
                "another backend's memory than the model's tensors — a cuda_t model needs "
                "nccl_communicator or staged_communicator<mpi_communicator, cuda_t>, a cpu_t "
                "model a host communicator (mpi_communicator)");

  data_parallel(Model& net, Comm& comm, const data_parallel_options& o = {})
      : net_(&net), comm_(&comm), opt_(o), group_(comm) {
    if (o.bucket_bytes < sizeof(scalar_type))
      throw value_error("simclr: data_parallel: bucket_bytes is " +
                        std::to_string(o.bucket_bytes) + ", expected ≥ one element");
    const int g = o.batch_norm_group_size;
    if (g < 0 || (g > 0 && comm.size() % g != 0))
      throw value_error("simclr: data_parallel: batch_norm_group_size " + std::to_string(g) +
                        " with " + std::to_string(comm.size()) +
                        " ranks; expected 0 (all ranks) or a divisor of the number of ranks");
    if (g > 0 && g < comm.size()) {
      if constexpr (requires(const Comm& c) { c.split(0); }) {
        bn_comm_ = std::make_unique<Comm>(comm.split(comm.rank() / g));
        group_ = comm_group(*bn_comm_);
      } else {
        throw value_error("simclr: data_parallel: batch_norm_group_size needs a communicator "
                          "that can split into subgroups (split(color)); this one cannot");
      }
    }
    if (o.broadcast_initial_state) {
      broadcast_state<scalar_type, backend_type>(comm, net);
      distributed::verify_same_state<scalar_type, backend_type>(comm, net,
                                                               "after the initial broadcast");
    }
  }

  /// One step's forward and backward on this rank's views, the gradients summed over ranks.
  step_metrics forward_backward(const tensor_type& views) {
    const auto params = net_->parameters();
    plan_buckets(params);
    reduction sums(*this, params);
    step_metrics m;
    {
      nn::gradient_ready_scope hook(opt_.overlap_backward ? &sums : nullptr);
      if (opt_.global_batch_norm) {
        nn::global_batch_norm scope(group_);
        m = net_->forward_backward(views);
      } else {
        m = net_->forward_backward(views);
      }
    }
    sums.finish();
    return m;
  }

  [[nodiscard]] std::vector<parameter<scalar_type, backend_type>> parameters() {
    return net_->parameters();
  }
  void visit_state(const nn::state_visitor<scalar_type, backend_type>& f,
                   const std::string& prefix) {
    net_->visit_state(f, prefix);
  }
  void after_step(std::int64_t step, std::int64_t total_steps)
    requires requires(Model& m) { m.after_step(step, total_steps); }
  {
    net_->after_step(step, total_steps);
  }

  /// Throws a distributed_error on every rank unless all ranks hold the same state
  /// (train::fit calls it after resuming from a checkpoint).
  void verify_same_state(const std::string& when) {
    distributed::verify_same_state<scalar_type, backend_type>(*comm_, *net_, when);
  }

  [[nodiscard]] Model& model() noexcept { return *net_; }
  [[nodiscard]] Comm& comm() noexcept { return *comm_; }
  [[nodiscard]] const data_parallel_options& options() const noexcept { return opt_; }
  /// The gradient buckets of the last step, and how many of them started their all-reduce
  /// during backward (overlap_backward; the others started after it).
  [[nodiscard]] std::size_t buckets() const noexcept { return buckets_.size(); }
  [[nodiscard]] std::size_t buckets_started_in_backward() const noexcept { return overlapped_; }

  /// Sums every parameter gradient over the ranks (what forward_backward does after backward).
  void sum_gradients() {
    const auto params = net_->parameters();
    plan_buckets(params);
    reduction sums(*this, params);
    sums.finish();
  }

 private:
  using params_type = std::vector<parameter<scalar_type, backend_type>>;

  /// One step's gradient sum: buckets started in plan order, each once all its gradients are
  /// final (ready() during backward) or at finish(), which starts the rest, waits for all and
  /// copies the sums back. Every rank starts the same buckets in the same order (the same code
  /// announces the same gradients), as MPI's collectives require.
  class reduction final : public nn::gradient_listener {
   public:
    reduction(data_parallel& dp, const params_type& params)
        : dp_(&dp), params_(&params), missing_(dp.buckets_.size()) {
      dp.overlapped_ = 0;
      for (std::size_t k = 0; k < dp.buckets_.size(); ++k) {
        missing_[k] = dp.buckets_[k].members.size();
        for (const std::size_t i : dp.buckets_[k].members)
          where_.emplace(static_cast<const void*>(params[i].grad->data()), k);
      }
      inflight_.reserve(dp.buckets_.size());
    }

    void ready(const void* grad) override {
      const auto it = where_.find(grad);
      if (it == where_.end()) return;  // not a parameter of this model, or announced before
      const std::size_t k = it->second;
      where_.erase(it);
      --missing_[k];
      while (inflight_.size() < missing_.size() && missing_[inflight_.size()] == 0) start_next();
      dp_->overlapped_ = inflight_.size();
    }

    void finish() {
      while (inflight_.size() < dp_->buckets_.size()) start_next();
      for (std::size_t k = 0; k < inflight_.size(); ++k) {
        inflight_[k].wait();
        const scalar_type* src = dp_->buckets_[k].flat.data();
        for (const std::size_t i : dp_->buckets_[k].members) {
          const index_t n = (*params_)[i].grad->numel();
          move((*params_)[i].grad->data(), src, n);
          src += n;
        }
      }
    }

   private:
    void start_next() {  // pack bucket inflight_.size() and start its all-reduce
      bucket& b = dp_->buckets_[inflight_.size()];
      scalar_type* dst = b.flat.data();
      for (const std::size_t i : b.members) {
        const index_t n = (*params_)[i].grad->numel();
        move(dst, (*params_)[i].grad->data(), n);
        dst += n;
      }
      inflight_.push_back(dp_->comm_->all_reduce_sum_async(
          std::span<scalar_type>(b.flat.data(), static_cast<std::size_t>(b.flat.numel()))));
    }
    /// n elements within the model's memory.
    static void move(scalar_type* to, const scalar_type* from, index_t n) {
      memory<backend_type>::copy(to, from, sizeof(scalar_type) * static_cast<std::size_t>(n));
    }

    using pending = decltype(std::declval<Comm&>().all_reduce_sum_async(std::span<scalar_type>()));
    data_parallel* dp_;
    const params_type* params_;
    std::vector<std::size_t> missing_;  ///< per bucket, gradients not yet final
    std::unordered_map<const void*, std::size_t> where_;  ///< gradient → its bucket
    std::vector<pending> inflight_;
  };

  /// One all-reduce: the gradients of `members` packed into `flat` (the model's memory).
  struct bucket {
    std::vector<std::size_t> members;
    tensor_type flat;
  };

  /// The buckets for this parameter list, in reverse parameter order (the order backward
  /// completes them), each about bucket_bytes: planned at the first step and kept (with their
  /// buffers) while the list's sizes stay the same.
  void plan_buckets(const std::vector<parameter<scalar_type, backend_type>>& params) {
    std::vector<index_t> sizes;
    sizes.reserve(params.size());
    for (const auto& p : params) sizes.push_back(p.grad->numel());
    if (sizes == planned_sizes_) return;
    planned_sizes_ = std::move(sizes);
    buckets_.clear();
    const std::size_t cap = std::max<std::size_t>(1, opt_.bucket_bytes / sizeof(scalar_type));
    std::size_t filled = 0;
    for (std::size_t i = params.size(); i-- > 0;) {
      const auto n = static_cast<std::size_t>(params[i].grad->numel());
      if (buckets_.empty() || (filled + n > cap && filled > 0)) {
        buckets_.emplace_back();
        filled = 0;
      }
      buckets_.back().members.push_back(i);
      filled += n;
    }
    for (auto& b : buckets_) {
      std::size_t n = 0;
      for (const std::size_t i : b.members) n += static_cast<std::size_t>(params[i].grad->numel());
      b.flat = tensor_type(shape{static_cast<index_t>(n)}, uninitialized);
    }
  }

  /// The communicator as global BatchNorm's group.
  class comm_group final : public nn::batch_norm_group {
   public:
    explicit comm_group(Comm& c) : comm_(&c) {}
    void sum(std::span<double> x) override { all_reduce_host(*comm_, x); }

   private:
    Comm* comm_;
  };

  Model* net_;
  Comm* comm_;
  data_parallel_options opt_;
  std::unique_ptr<Comm> bn_comm_;  ///< the BatchNorm subgroup (batch_norm_group_size)
  comm_group group_;
  std::vector<index_t> planned_sizes_;  ///< the gradient sizes buckets_ was planned for
  std::vector<bucket> buckets_;
  std::size_t overlapped_ = 0;  ///< buckets the last step started during backward
};

}  // namespace simclr::distributed
