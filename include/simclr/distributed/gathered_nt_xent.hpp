// simclr::distributed::gathered_nt_xent: NT-Xent over the global batch of every process —
// each process's anchors against all 2N embeddings, the gradient of the gather returned by a
// reduce-scatter — as a contrastive_loss on the process's own rows.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <simclr/backend/tags.hpp>
#include <simclr/distributed/communicator.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/tensor.hpp>

namespace simclr::distributed {

/// NT-Xent with negatives from every process of `comm`. Each process holds z (2n, D) for its
/// n images (rows i and i + n the two views of image i, as on one process); with k processes of
/// n images each, the global batch is N = k·n images in the global layout
///   [view 1 of rank 0's images, view 1 of rank 1's, …, view 2 of rank 0's, view 2 of rank 1's, …]
/// so the positive of global row g stays (g + N) mod 2N. Each process
///   1. all-gathers the view-1 and the view-2 blocks (the gathered (2N, D) batch),
///   2. computes its own 2n anchors against all 2N rows (nt_xent::partial),
///   3. reduce-scatters (sums) the gradient with respect to the gathered batch, so its dz holds
///      what every process's anchors contribute to its rows — not only its own,
///   4. all-reduces the value and the monitoring sums.
/// The value, top-1 and entropy are the global batch's, identical on every process, and dz is
/// the process's rows of what one process computes on the whole batch (up to summation
/// order). Satisfies contrastive_loss, so it drops into simclr::model. Every process must hold
/// the same n. Host memory (comm's collectives take host spans).
template <class T, communicator Comm>
class gathered_nt_xent {
 public:
  using scalar_type = T;
  using backend_type = cpu_t;

  gathered_nt_xent(Comm& comm, const loss::nt_xent_options& options)
      : comm_(&comm), loss_(options) {}

  [[nodiscard]] loss::nt_xent_result<T, cpu_t> operator()(const tensor<T>& z) {
    loss::detail::check_pair_batch(z, "gathered_nt_xent");
    const index_t local_rows = z.extent(0), n = local_rows / 2, d = z.extent(1);
    const index_t k = comm_->size(), r = comm_->rank();
    // Every process the same n: all_gather needs equal blocks. (Σn)² = k·Σn² exactly when all
    // n are equal, and every rank sees the same sums, so all ranks throw or none does.
    std::vector<std::int64_t> sums_n{static_cast<std::int64_t>(n), static_cast<std::int64_t>(n * n)};
    comm_->all_reduce_sum(std::span<std::int64_t>(sums_n));
    if (sums_n[0] * sums_n[0] != static_cast<std::int64_t>(k) * sums_n[1])
      throw value_error("simclr: gathered_nt_xent: the ranks hold different numbers of images (" +
                        std::to_string(sums_n[0]) + " in all over " + std::to_string(k) +
                        " ranks, this one " + std::to_string(n) +
                        "): split the global batch evenly");
    const index_t big_n = k * n, block = n * d;
    tensor<T> gathered(shape{2 * big_n, d}, uninitialized);
    comm_->all_gather(std::span<const T>(z.data(), static_cast<std::size_t>(block)),
                      std::span<T>(gathered.data(), static_cast<std::size_t>(big_n * d)));
    comm_->all_gather(std::span<const T>(z.data() + block, static_cast<std::size_t>(block)),
                      std::span<T>(gathered.data() + big_n * d, static_cast<std::size_t>(big_n * d)));
    std::vector<index_t> mine(static_cast<std::size_t>(2 * n));
    for (index_t i = 0; i < n; ++i) {
      mine[static_cast<std::size_t>(i)] = r * n + i;
      mine[static_cast<std::size_t>(n + i)] = big_n + r * n + i;
    }
    auto part = loss_.partial(gathered, std::span<const index_t>(mine));
    loss::nt_xent_result<T, cpu_t> out;
    out.dz = tensor<T>(z.shape(), uninitialized);
    const T* dg = part.d_gathered.data();
    comm_->reduce_scatter_sum(std::span<const T>(dg, static_cast<std::size_t>(big_n * d)),
                              std::span<T>(out.dz.data(), static_cast<std::size_t>(block)));
    comm_->reduce_scatter_sum(std::span<const T>(dg + big_n * d, static_cast<std::size_t>(big_n * d)),
                              std::span<T>(out.dz.data() + block, static_cast<std::size_t>(block)));
    std::vector<double> sums{part.value, static_cast<double>(part.top1_correct), part.entropy_sum};
    comm_->all_reduce_sum(std::span<double>(sums));
    loss_.finish(out, sums[0], sums[1], sums[2], 2 * big_n);
    return out;
  }

  [[nodiscard]] const loss::nt_xent_options& options() const noexcept { return loss_.options(); }

 private:
  Comm* comm_;
  loss::nt_xent<T> loss_;
};

}  // namespace simclr::distributed
