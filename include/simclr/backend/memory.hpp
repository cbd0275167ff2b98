// simclr::memory<Backend>: how a backend allocates, clears and copies raw storage.
#pragma once

#include <cstddef>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>

namespace simclr {

/// Raw storage of a backend. A specialisation provides
///   static void* allocate(std::size_t bytes);            // throws on failure, never null
///   static void  deallocate(void* p, std::size_t bytes) noexcept;
///   static void  zero(void* p, std::size_t bytes);
///   static void  copy(void* dst, const void* src, std::size_t bytes);   // within the backend
/// The CPU one is in <simclr/backend/cpu/memory.hpp>; the CUDA one in
/// <simclr/backend/cuda/memory.cuh> (nvcc only).
template <class Backend>
struct memory {
  static_assert(detail::always_false<Backend>,
                "simclr: no memory<Backend> for this backend — for simclr::cuda_t include "
                "<simclr/cuda.cuh>, compile the file with nvcc and link simclr::cuda "
                "(SIMCLR_ENABLE_CUDA=ON)");
};

}  // namespace simclr
