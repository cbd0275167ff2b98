// Backend tag types: empty structs that select kernels at compile time.
#pragma once

#include <concepts>
#include <string_view>
#include <type_traits>

namespace simclr {

/// The CPU backend: Eigen kernels on host memory, threaded by simclr::parallel.
struct cpu_t {
  static constexpr std::string_view name = "cpu";
  /// Whether host code may dereference this backend's pointers.
  static constexpr bool host_accessible = true;
};
inline constexpr cpu_t cpu{};

/// The CUDA backend: device memory, CUDA kernels and cuBLAS. Its kernels live in .cuh headers
/// (include <simclr/cuda.cuh>, compile with nvcc, link simclr::cuda).
struct cuda_t {
  static constexpr std::string_view name = "cuda";
  static constexpr bool host_accessible = false;
};
inline constexpr cuda_t cuda{};

/// A backend tag: an empty, trivially constructible type with a name and a flag saying whether
/// host code may read its memory. Kernels are selected by specialising on the tag; a user
/// backend is a new tag plus specialisations of simclr::backend::memory and the ops it supports.
template <class B>
concept backend = std::is_empty_v<B> && std::is_trivially_default_constructible_v<B> && requires {
  { B::name } -> std::convertible_to<std::string_view>;
  { B::host_accessible } -> std::convertible_to<bool>;
};

}  // namespace simclr
