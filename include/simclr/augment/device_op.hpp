// simclr::augment device-op vocabulary: what an augmentation op needs so that the same draw and the
// same arithmetic run on the host and on the device (view geometry and buffer, the executors,
// the source images, and float arithmetic that rounds alike on both).
#pragma once

#include <math.h>  // ::floorf (host and device)

#include <cstdint>

#include <simclr/augment/image.hpp>
#include <simclr/config.hpp>

namespace simclr::augment {

/// The size of a view while an op draws its parameters: a crop changes h and w, and an op that
/// needs scratch for its device pass (the blur) raises `scratch` (floats per view). `device` is
/// true when the parameters are drawn for the device (an op may refuse what the device cannot
/// run, e.g. a blur kernel wider than its record holds).
struct view_geometry {
  index_t c = 0, h = 0, w = 0;
  index_t scratch = 0;
  bool device = false;
};

/// The geometry of a (C, H, W) float image: what the CPU ops draw with.
[[nodiscard]] inline view_geometry geometry_of(const image_f32& img) {
  if (img.rank() != 3) return {};  // the op's own shape check reports it
  return view_geometry{img.extent(0), img.extent(1), img.extent(2), 0, false};
}

/// One view being made, (c, h, w) planar floats at `data`, and `scratch` floats of scratch (as
/// many as the ops' draws asked for through view_geometry::scratch).
struct view_buffer {
  float* data = nullptr;
  index_t c = 0, h = 0, w = 0;
  float* scratch = nullptr;
  [[nodiscard]] SIMCLR_HOST_DEVICE index_t plane() const { return h * w; }
  [[nodiscard]] SIMCLR_HOST_DEVICE index_t size() const { return c * h * w; }
};

/// The executor an op's host/device `apply` runs on: one thread doing every index in order. A
/// device executor (augment/cuda/two_views.cuh) offers the same three members for the threads of
/// one block, so `apply` is written once for both.
struct serial_executor {
  /// f(i) for i in [0, n).
  template <class F>
  SIMCLR_HOST_DEVICE void for_each(index_t n, F&& f) const {
    for (index_t i = 0; i < n; ++i) f(i);
  }
  /// Σ f(i) for i in [0, n), in double (the same value for every caller).
  template <class F>
  [[nodiscard]] SIMCLR_HOST_DEVICE double sum(index_t n, F&& f) const {
    double s = 0.0;
    for (index_t i = 0; i < n; ++i) s += f(i);
    return s;
  }
  /// Makes the writes of the previous for_each visible to the next (nothing to do here).
  SIMCLR_HOST_DEVICE void sync() const {}
};

/// An (H, W, C) 8-bit source image, read as float x / 255 (augment::to_float).
struct u8_hwc_source {
  const std::uint8_t* data = nullptr;
  index_t h = 0, w = 0, c = 0;
  SIMCLR_HOST_DEVICE float operator()(index_t ch, index_t y, index_t x) const {
    return static_cast<float>(data[(y * w + x) * c + ch]) / 255.0f;
  }
};

/// A (C, H, W) float source image.
struct f32_chw_source {
  const float* data = nullptr;
  index_t h = 0, w = 0, c = 0;
  SIMCLR_HOST_DEVICE float operator()(index_t ch, index_t y, index_t x) const {
    return data[(ch * h + y) * w + x];
  }
};

namespace detail::view {

// Float arithmetic that nvcc may not fuse into an FMA (so the device rounds as the host does,
// which matters where a result is rounded to an index or table entry). On the host these are
// the plain operators, inlined into the CPU ops' scalar code.
SIMCLR_HOST_DEVICE inline float mul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
SIMCLR_HOST_DEVICE inline float add(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
SIMCLR_HOST_DEVICE inline float sub(float a, float b) { return add(a, -b); }
SIMCLR_HOST_DEVICE inline float fmin2(float a, float b) { return b < a ? b : a; }
SIMCLR_HOST_DEVICE inline float fmax2(float a, float b) { return a < b ? b : a; }
SIMCLR_HOST_DEVICE inline float clamp01(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
/// ⌊x⌋ without a library call (vectorises at -O2): truncate, then step down for negatives.
SIMCLR_HOST_DEVICE inline float floor_fast(float x) {
  const auto t = static_cast<float>(static_cast<int>(x));
  return t - (t > x ? 1.0f : 0.0f);  // a select of constants: vectorises without AVX-512 masks
}
SIMCLR_HOST_DEVICE inline index_t clampi(index_t i, index_t lo, index_t hi) {
  return i < lo ? lo : (i > hi ? hi : i);
}

/// The sum of one row as the CPU ops' lane_sum computes it: 8 float lanes, then double.
template <class Value>
SIMCLR_HOST_DEVICE double row_lane_sum(index_t n, Value&& value) {
  float lanes[8] = {};
  index_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] = add(lanes[j], value(i + j));
  double total = 0.0;
  for (const float l : lanes) total += static_cast<double>(l);
  for (; i < n; ++i) total += static_cast<double>(value(i));
  return total;
}

}  // namespace detail::view

}  // namespace simclr::augment
