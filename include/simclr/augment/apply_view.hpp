// simclr::augment::apply_view: one view from its view_params — one code path for host and device.
#pragma once

#include <string>
#include <vector>

#include <simclr/augment/device_op.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/augment/view_params.hpp>
#include <simclr/concepts.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>

namespace simclr::augment {

/// Writes view `p` of `src` into `out` ((C, out_h, out_w) floats) by the policy's own host/device
/// passes: a policy that starts with a crop makes the view from the source, any other first
/// copies the source (x / 255 for 8-bit), then every op works on the view in place, in the
/// policy's order, with the CPU ops' arithmetic. `scratch` holds view_scratch_size(p) floats.
/// Every thread of `exec` calls it with the same arguments; `exec.for_each` splits the work.
/// No checks here (device code): apply_view(p, image) below checks shapes on the host.
template <class Exec, class Policy, class Source>
SIMCLR_HOST_DEVICE void apply_view(const Exec& exec, const view_params<Policy>& p,
                                   const Source& src, float* out, float* scratch) {
  const view_buffer v{out, p.channels, p.out_h, p.out_w, scratch};
  if constexpr (detail::device_source_op<Policy>) {
    Policy::apply(exec, p.ops, src, v);
  } else {
    const index_t plane = v.plane(), w = v.w;
    exec.for_each(v.size(), [&](index_t e) { out[e] = src(e / plane, (e % plane) / w, e % w); });
    exec.sync();
    Policy::apply(exec, p.ops, v);
  }
}

namespace detail {
template <class Policy>
void expect_view_source(const view_params<Policy>& p, index_t h, index_t w, index_t c) {
  if (h != p.in_h || w != p.in_w || c != p.channels)
    throw shape_error("simclr: augment::apply_view: the image is " + std::to_string(h) + "×" +
                      std::to_string(w) + " with " + std::to_string(c) +
                      " channels, the view parameters were drawn for " + std::to_string(p.in_h) +
                      "×" + std::to_string(p.in_w) + " with " + std::to_string(p.channels));
}

/// apply_view on the calling thread into a fresh (C, out_h, out_w) image.
template <class Policy, class Source>
[[nodiscard]] image_f32 apply_view_serial(const view_params<Policy>& p, Source src) {
  image_f32 out(shape{p.channels, p.out_h, p.out_w}, uninitialized);  // (C, S, S)
  std::vector<float> scratch(static_cast<std::size_t>(view_scratch_size(p)));
  apply_view(serial_executor{}, p, src, out.data(), scratch.data());
  return out;
}
}  // namespace detail

/// View `p` of an (H, W, C) 8-bit image as a (C, out_h, out_w) float image, on the calling
/// thread. Throws shape_error when the image is not the size `p` was drawn for.
template <class Policy>
[[nodiscard]] image_f32 apply_view(const view_params<Policy>& p, const image_u8& img) {
  expect_image(img, "augment::apply_view");
  detail::expect_view_source(p, img.extent(0), img.extent(1), img.extent(2));
  return detail::apply_view_serial(
      p, u8_hwc_source{img.data(), img.extent(0), img.extent(1), img.extent(2)});
}

/// View `p` of a (C, H, W) float image as a (C, out_h, out_w) float image.
template <class Policy>
[[nodiscard]] image_f32 apply_view(const view_params<Policy>& p, const image_f32& img) {
  expect_image(img, "augment::apply_view");
  detail::expect_view_source(p, img.extent(1), img.extent(2), img.extent(0));
  return detail::apply_view_serial(
      p, f32_chw_source{img.data(), img.extent(1), img.extent(2), img.extent(0)});
}

}  // namespace simclr::augment
