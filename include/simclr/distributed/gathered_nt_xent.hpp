// simclr::distributed::gathered_nt_xent: NT-Xent over the global batch of every process —
// each process's anchors against all 2N embeddings, the gradient of the gather returned by a
// reduce-scatter — as a contrastive_loss on the process's own rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include <simclr/backend/memory.hpp>
#include <simclr/backend/tags.hpp>
#include <simclr/distributed/communicator.hpp>
#include <simclr/distributed/host_values.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/tensor.hpp>

namespace simclr::distributed {

/// NT-Xent with negatives from every process of `comm`. Each process holds z (2n_r, D) for its
/// n_r images (rows i and i + n_r the two views of image i, as on one process); the global batch
/// is the N = Σ n_r images of ranks 0, 1, … laid end to end (what train::slice_of_batch cuts),
/// in the global layout
///   [view 1 of rank 0's images, view 1 of rank 1's, …, view 2 of rank 0's, view 2 of rank 1's, …]
/// so the positive of global row g stays (g + N) mod 2N. Each process
///   1. all-gathers the view-1 and the view-2 blocks (the gathered (2N, D) batch),
///   2. computes its own 2n_r anchors against all 2N rows (nt_xent::partial),
///   3. reduce-scatters (sums) the gradient with respect to the gathered batch, so its dz holds
///      what every process's anchors contribute to its rows — not only its own,
///   4. all-reduces the value and the monitoring sums.
/// The value, top-1 and entropy are the global batch's, identical on every process, and dz is
/// the process's rows of what one process computes on the whole batch (up to summation
/// order). Satisfies contrastive_loss, so it drops into simclr::model. The ranks may hold
/// different numbers of images (a global batch that the number of processes does not divide):
/// the collectives move equal blocks, so each block is then padded to the largest n_r and the
/// padding dropped. z lives in the memory the communicator's collectives take (backend_type):
/// host memory over MPI, device memory over NCCL or staged MPI (the loss then runs on the GPU).
template <class T, communicator Comm>
class gathered_nt_xent {
 public:
  using scalar_type = T;
  /// The memory the communicator's collectives take: host memory for mpi_communicator, device
  /// memory for nccl_communicator and staged_communicator<…, cuda_t>.
  using backend_type = communicator_backend<Comm>;

  gathered_nt_xent(Comm& comm, const loss::nt_xent_options& options)
      : comm_(&comm), loss_(options) {}

  [[nodiscard]] loss::nt_xent_result<T, backend_type> operator()(const tensor<T, backend_type>& z) {
    using B = backend_type;
    loss::detail::check_pair_batch(z, "gathered_nt_xent");
    const index_t n = z.extent(0) / 2, d = z.extent(1);
    const index_t k = comm_->size(), r = comm_->rank();
    // Every rank's n (each sets its own slot; a sum is a gather the concept has for integers):
    // the offsets of the ranks' rows in the global layout.
    std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
    counts[static_cast<std::size_t>(r)] = n;
    all_reduce_host(*comm_, std::span<std::int64_t>(counts));
    std::vector<index_t> offset(static_cast<std::size_t>(k) + 1, 0);
    index_t widest = 0;
    for (index_t q = 0; q < k; ++q) {
      const auto nq = static_cast<index_t>(counts[static_cast<std::size_t>(q)]);
      offset[static_cast<std::size_t>(q) + 1] = offset[static_cast<std::size_t>(q)] + nq;
      widest = std::max(widest, nq);
    }
    const index_t big_n = offset.back(), block = widest * d;
    const bool even = big_n == k * widest;  // no padding: gather straight into place
    // Copies of `count` elements within the communicator's memory.
    const auto move = [](T* to, const T* from, index_t count) {
      memory<B>::copy(to, from, sizeof(T) * static_cast<std::size_t>(count));
    };
    tensor<T, B> gathered(shape{2 * big_n, d}, uninitialized);
    tensor<T, B> padded_send(shape{even ? 0 : block}, uninitialized);
    tensor<T, B> padded(shape{even ? 0 : k * block}, uninitialized);
    for (index_t half = 0; half < 2; ++half) {
      const T* own = z.data() + half * n * d;
      T* into = gathered.data() + half * big_n * d;
      if (even) {
        comm_->all_gather(std::span<const T>(own, static_cast<std::size_t>(block)),
                          std::span<T>(into, static_cast<std::size_t>(big_n * d)));
        continue;
      }
      move(padded_send.data(), own, n * d);
      comm_->all_gather(std::span<const T>(padded_send.data(), static_cast<std::size_t>(block)),
                        std::span<T>(padded.data(), static_cast<std::size_t>(k * block)));
      for (index_t q = 0; q < k; ++q) {
        const auto q1 = static_cast<std::size_t>(q);
        move(into + offset[q1] * d, padded.data() + q * block, (offset[q1 + 1] - offset[q1]) * d);
      }
    }
    std::vector<index_t> rows(static_cast<std::size_t>(2 * n));
    const index_t first = offset[static_cast<std::size_t>(r)];
    for (index_t i = 0; i < n; ++i) {
      rows[static_cast<std::size_t>(i)] = first + i;
      rows[static_cast<std::size_t>(n + i)] = big_n + first + i;
    }
    auto part = loss_.partial(gathered, std::span<const index_t>(rows));
    loss::nt_xent_result<T, B> out;
    out.dz = tensor<T, B>(z.shape(), uninitialized);
    tensor<T, B> padded_back(shape{even ? 0 : block}, uninitialized);
    for (index_t half = 0; half < 2; ++half) {
      const T* dg = part.d_gathered.data() + half * big_n * d;
      T* own = out.dz.data() + half * n * d;
      if (even) {
        comm_->reduce_scatter_sum(std::span<const T>(dg, static_cast<std::size_t>(big_n * d)),
                                  std::span<T>(own, static_cast<std::size_t>(block)));
        continue;
      }
      memory<B>::zero(padded.data(), sizeof(T) * static_cast<std::size_t>(k * block));
      for (index_t q = 0; q < k; ++q) {
        const auto q1 = static_cast<std::size_t>(q);
        move(padded.data() + q * block, dg + offset[q1] * d, (offset[q1 + 1] - offset[q1]) * d);
      }
      comm_->reduce_scatter_sum(
          std::span<const T>(padded.data(), static_cast<std::size_t>(k * block)),
          std::span<T>(padded_back.data(), static_cast<std::size_t>(block)));
      move(own, padded_back.data(), n * d);
    }
    std::vector<double> sums{part.value, static_cast<double>(part.top1_correct), part.entropy_sum};
    all_reduce_host(*comm_, std::span<double>(sums));
    loss_.finish(out, sums[0], sums[1], sums[2], 2 * big_n);
    return out;
  }

  [[nodiscard]] const loss::nt_xent_options& options() const noexcept { return loss_.options(); }

 private:
  Comm* comm_;
  loss::nt_xent<T, communicator_backend<Comm>> loss_;
};

}  // namespace simclr::distributed
