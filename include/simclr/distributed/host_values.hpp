// simclr::distributed::all_reduce_host / broadcast_host: a few host values (image counts, loss
// sums, state checksums) through a communicator of any memory — copied through that memory
// when it is a device's (nccl_communicator, staged_communicator<…, cuda_t>).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

#include <simclr/concepts.hpp>
#include <simclr/distributed/communicator.hpp>
#include <simclr/shape.hpp>
#include <simclr/tensor.hpp>

namespace simclr::distributed {

namespace detail {
/// `op(span)` on a copy of `values` in the communicator's memory, the result copied back
/// (to_device / to_host of that backend, found by argument-dependent lookup: for cuda_t in
/// <simclr/transfer.cuh>, which the including .cu file has).
template <class Comm, class V, class Op>
void through_communicator_memory(std::span<V> values, Op&& op) {
  using B = communicator_backend<Comm>;
  if constexpr (B::host_accessible) {
    op(values);
  } else {
    tensor<V, cpu_t> host(shape{static_cast<index_t>(values.size())}, uninitialized);
    std::copy(values.begin(), values.end(), host.data());
    auto there = to_device(host);
    op(std::span<V>(there.data(), values.size()));
    host = to_host(there);
    std::copy(host.data(), host.data() + host.numel(), values.begin());
  }
}
}  // namespace detail

/// values ← Σ_ranks values, for host values and any communicator.
template <communicator Comm, class V>
void all_reduce_host(Comm& comm, std::span<V> values) {
  detail::through_communicator_memory<Comm>(values, [&](std::span<V> v) { comm.all_reduce_sum(v); });
}

/// values ← root's values, for host values and any communicator.
template <communicator Comm, class V>
void broadcast_host(Comm& comm, std::span<V> values, int root) {
  detail::through_communicator_memory<Comm>(values,
                                            [&](std::span<V> v) { comm.broadcast(v, root); });
}

}  // namespace simclr::distributed
