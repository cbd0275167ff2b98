// Version, portability macros and feature switches shared by every simclr header.
#pragma once

#include <cstddef>
#include <cstdint>

#define SIMCLR_VERSION_MAJOR 0
#define SIMCLR_VERSION_MINOR 1
#define SIMCLR_VERSION_PATCH 0

#if defined(__CUDACC__)
/// Marks a function usable from host and device code (expands to nothing outside nvcc).
#define SIMCLR_HOST_DEVICE __host__ __device__
#else
#define SIMCLR_HOST_DEVICE
#endif

namespace simclr {

/// Signed index type used for every size, extent and stride (matches Eigen::Index).
using index_t = std::ptrdiff_t;

inline constexpr int version_major = SIMCLR_VERSION_MAJOR;
inline constexpr int version_minor = SIMCLR_VERSION_MINOR;
inline constexpr int version_patch = SIMCLR_VERSION_PATCH;

namespace detail {
/// Dependent false, for static_asserts in primary templates that must never be instantiated.
template <class...>
inline constexpr bool always_false = false;
}  // namespace detail

}  // namespace simclr
