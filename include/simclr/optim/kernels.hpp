// The per-backend kernels of the optimizers: the primary template, which names the op when a
// backend lacks it. CPU: <simclr/optim/cpu/update.hpp> (included by every optimizer header);
// CUDA: <simclr/optim/cuda/update.cuh> (nvcc only, through <simclr/cuda.cuh>).
#pragma once

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>

namespace simclr::optim {

/// The update kernels of a backend (element-wise updates and norms on raw pointers).
/// CPU: <simclr/optim/cpu/update.hpp>, included by every optimizer header; CUDA:
/// <simclr/optim/cuda/update.cuh> (nvcc only).
template <class Backend>
struct update_kernel {
  static_assert(simclr::detail::always_false<Backend>,
                "simclr: the optimizers have no update kernel for this backend — for "
                "simclr::cuda_t include <simclr/cuda.cuh>, compile with nvcc and link "
                "simclr::cuda; or specialise simclr::optim::update_kernel for your backend");
};

}  // namespace simclr::optim
