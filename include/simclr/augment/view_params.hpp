// simclr::augment::view_params: every random draw of one view, drawn as the CPU ops draw it.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <simclr/augment/color_jitter.hpp>
#include <simclr/augment/compose.hpp>
#include <simclr/augment/flip.hpp>
#include <simclr/augment/gaussian_blur.hpp>
#include <simclr/augment/grayscale.hpp>
#include <simclr/augment/random_apply.hpp>
#include <simclr/augment/resized_crop.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/augment/solarize.hpp>
#include <simclr/augment/two_views.hpp>
#include <simclr/error.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

/// Everything one view needs, as plain numbers (trivially copyable: it goes to the device as
/// bytes). The stages run in SimCLR's order: crop + resize (+ flip) → color jitter → grayscale →
/// blur → solarize. Made by draw_view_params, applied by apply_view (apply_view.hpp).
struct view_params {
  // source image
  std::int32_t in_h = 0, in_w = 0, channels = 0;
  // crop box in the source and the output size (the whole image at its own size without a crop)
  std::int32_t crop_top = 0, crop_left = 0, crop_h = 0, crop_w = 0;
  std::int32_t out_h = 0, out_w = 0;
  interpolation mode = interpolation::bilinear;  ///< resampling filter of the crop
  std::uint8_t clamp_crop = 0;                   ///< clamp the resized crop to [0, 1] (bicubic)
  std::uint8_t flip = 0;                         ///< mirror the view left–right
  // color jitter: ops in `order` (0 brightness, 1 contrast, 2 saturation, 3 hue)
  std::uint8_t jitter = 0;            ///< the jitter ran (its random_apply fired)
  std::int8_t order[4] = {0, 1, 2, 3};
  std::uint8_t jitter_on[4] = {};     ///< which of the four ops are on (strength > 0)
  float factor[4] = {};               ///< b (factor or δ), c, s factors and the hue shift
  semantics sem = semantics::torchvision;                    ///< jitter semantics
  tf_brightness brightness_mode = tf_brightness::multiplicative;  ///< TF v1 (+) or v2 (×)
  std::uint8_t grayscale = 0;         ///< replace every channel by the luma (3 channels)
  // Gaussian blur: kernel size (0: off), σ, border, and the kernel's taps 0 … size / 2 (the
  // centre last; the kernel is symmetric), computed on the host by gaussian_kernel
  std::int32_t blur_size = 0;
  float blur_sigma = 0.0f;
  blur_padding blur_pad = blur_padding::reflect;
  float blur_kernel[64] = {};
  // solarize
  std::uint8_t solarize = 0;
  float solarize_threshold = 0.5f;
};
static_assert(std::is_trivially_copyable_v<view_params>);

/// The largest blur kernel a view_params holds (its half, 64 taps, is stored in the record).
inline constexpr index_t max_device_blur_size = 127;

/// Floats of scratch apply_view needs for `p` (the blur's horizontal pass).
[[nodiscard]] inline index_t view_scratch_size(const view_params& p) {
  return p.blur_size > 1 ? static_cast<index_t>(p.channels) * p.out_h * p.out_w : 0;
}

namespace detail {

/// The stage of each built-in op in the device pipeline's fixed order (crop 0, flip 1,
/// jitter 2, grayscale 3, blur 4, solarize 5), or -1 for an op without a device version.
template <class Op>
struct device_stage {
  static constexpr bool supported = false;
  static constexpr int first = INT_MAX, last = INT_MIN;
};
template <int S>
struct device_stage_at {
  static constexpr bool supported = true;
  static constexpr int first = S, last = S;
};
template <>
struct device_stage<random_resized_crop> : device_stage_at<0> {};
template <>
struct device_stage<random_horizontal_flip> : device_stage_at<1> {};
template <>
struct device_stage<color_jitter> : device_stage_at<2> {};
template <>
struct device_stage<random_grayscale> : device_stage_at<3> {};
template <>
struct device_stage<random_gaussian_blur> : device_stage_at<4> {};
template <>
struct device_stage<random_solarize> : device_stage_at<5> {};
template <class Op>
struct device_stage<random_apply<Op>> : device_stage<Op> {};
template <class... Ops>
struct device_stage<compose<Ops...>> {
  static constexpr bool supported = (device_stage<Ops>::supported && ...);
  /// Every op's stage comes after the previous op's (each stage at most once, in order).
  static constexpr bool ordered = [] {
    const int firsts[] = {INT_MAX, device_stage<Ops>::first...};
    const int lasts[] = {INT_MIN, device_stage<Ops>::last...};
    for (std::size_t i = 2; i < sizeof...(Ops) + 1; ++i)
      if (firsts[i] <= lasts[i - 1]) return false;
    return true;
  }();
  static constexpr int first = std::min({INT_MAX, device_stage<Ops>::first...});
  static constexpr int last = std::max({INT_MIN, device_stage<Ops>::last...});
};

/// True when every compose inside `Op` lists its ops in the device pipeline's order.
template <class Op>
struct device_ordered : std::true_type {};
template <class Op>
struct device_ordered<random_apply<Op>> : device_ordered<Op> {};
template <class... Ops>
struct device_ordered<compose<Ops...>>
    : std::bool_constant<device_stage<compose<Ops...>>::ordered &&
                         (device_ordered<Ops>::value && ...)> {};

/// What draw_view_params knows while it walks the policy: the params so far and the current
/// image size (the crop changes it).
struct view_draw {
  view_params p;
  index_t h = 0, w = 0;
};

inline void draw_op(const random_resized_crop& op, view_draw& d, random::stream& rng) {
  const crop_box box = op.sample(d.h, d.w, rng);
  d.p.crop_top = static_cast<std::int32_t>(box.top);
  d.p.crop_left = static_cast<std::int32_t>(box.left);
  d.p.crop_h = static_cast<std::int32_t>(box.height);
  d.p.crop_w = static_cast<std::int32_t>(box.width);
  d.p.out_h = static_cast<std::int32_t>(op.height);
  d.p.out_w = static_cast<std::int32_t>(op.width);
  d.p.mode = op.mode;
  d.p.clamp_crop = op.mode != interpolation::bilinear ? 1 : 0;
  d.h = op.height;
  d.w = op.width;
}
inline void draw_op(const random_horizontal_flip& op, view_draw& d, random::stream& rng) {
  if (rng.bernoulli(op.p)) d.p.flip = 1;
}
inline void draw_op(const color_jitter& op, view_draw& d, random::stream& rng) {
  const jitter_params j = op.sample(rng);
  d.p.jitter = 1;
  for (std::size_t i = 0; i < 4; ++i) d.p.order[i] = static_cast<std::int8_t>(j.order[i]);
  const std::optional<float> f[4] = {j.brightness, j.contrast, j.saturation, j.hue};
  for (std::size_t i = 0; i < 4; ++i) {
    d.p.jitter_on[i] = f[i] ? 1 : 0;
    d.p.factor[i] = f[i] ? *f[i] : 0.0f;
  }
  d.p.sem = op.sem;
  d.p.brightness_mode = op.tf_brightness_mode;
}
inline void draw_op(const random_grayscale& op, view_draw& d, random::stream& rng) {
  if (rng.bernoulli(op.p)) d.p.grayscale = 1;
}
inline void draw_op(const random_gaussian_blur& op, view_draw& d, random::stream& rng) {
  const float s = op.fixed_sigma ? *op.fixed_sigma : rng.uniform(op.sigma[0], op.sigma[1]);
  const index_t size = op.size_for(d.h);
  if (!(s > 0.0f && std::isfinite(s)))  // as gaussian_kernel checks it
    throw value_error("simclr: augment::draw_view_params: blur sigma " + std::to_string(s) +
                      ", expected a finite value > 0");
  if (size > max_device_blur_size)
    throw value_error("simclr: augment::draw_view_params: blur kernel size " +
                      std::to_string(size) + " on a " + std::to_string(d.h) +
                      "-row view, the device supports at most " +
                      std::to_string(max_device_blur_size) + " (views up to 1279 rows)");
  const std::vector<float> k = gaussian_kernel(size, s);  // the CPU's taps, bit for bit
  for (index_t j = 0; j <= size / 2; ++j)
    d.p.blur_kernel[j] = k[static_cast<std::size_t>(j)];
  d.p.blur_size = static_cast<std::int32_t>(size);
  d.p.blur_sigma = s;
  d.p.blur_pad = op.sem == semantics::tf ? blur_padding::zero : blur_padding::reflect;
}
inline void draw_op(const random_solarize& op, view_draw& d, random::stream& rng) {
  if (rng.bernoulli(op.p)) {
    d.p.solarize = 1;
    d.p.solarize_threshold = op.threshold;
  }
}
template <class Op>
void draw_op(const random_apply<Op>& op, view_draw& d, random::stream& rng);
template <class... Ops>
void draw_op(const compose<Ops...>& c, view_draw& d, random::stream& rng);

/// Any other op: no device version. The error's instantiation line names the op ("with Op = ...").
template <class Op>
void draw_op(const Op&, view_draw&, random::stream&) {
  static_assert(simclr::detail::always_false<Op>,
                "simclr: augment::draw_view_params: the policy holds an op without a device "
                "version (Op, named in the instantiation line) — device augmentations run "
                "random_resized_crop, random_horizontal_flip, color_jitter, random_grayscale, "
                "random_gaussian_blur, random_solarize, and random_apply / compose of them (see "
                "docs/cuda.md); make this policy's views on the CPU with augment::two_views");
}
template <class Op>
void draw_op(const random_apply<Op>& op, view_draw& d, random::stream& rng) {
  if (rng.bernoulli(op.p)) draw_op(op.op, d, rng);  // the op draws from the same stream
}
template <class... Ops>
void draw_op(const compose<Ops...>& c, view_draw& d, random::stream& rng) {
  std::apply(
      [&](const Ops&... op) {
        const auto run = [&](const auto& one) {
          random::stream child = child_stream(rng);  // as compose::apply
          draw_op(one, d, child);
        };
        (run(op), ...);
      },
      c.ops);
}

}  // namespace detail

/// True when draw_view_params (and so the device two_views) takes `Policy`: its ops all have
/// device versions and every compose lists them in the device pipeline's order.
template <class Policy>
inline constexpr bool runs_on_device =
    detail::device_stage<std::remove_cvref_t<Policy>>::supported &&
    detail::device_ordered<std::remove_cvref_t<Policy>>::value;

/// The parameters of one view of an h × w image with `channels` channels (1 or 3), drawn from
/// `rng` exactly as `policy(image, rng)` draws them on the CPU (the same numbers from the same
/// streams: compose's child streams, random_apply's Bernoulli, the crop samplers, jitter's
/// order and factors, blur's σ). `policy` is the per-view copy (after `for_batch`). Supported:
/// random_resized_crop, random_horizontal_flip, color_jitter, random_grayscale,
/// random_gaussian_blur, random_solarize, random_apply of them and compose of them in that
/// order (SimCLR's policies, the presets of policy.hpp). Throws shape_error for a bad image size.
template <class Policy>
[[nodiscard]] view_params draw_view_params(const Policy& policy, index_t h, index_t w,
                                           index_t channels, random::stream& rng) {
  static_assert(detail::device_ordered<Policy>::value,
                "simclr: augment::draw_view_params: device augmentations run their ops in the "
                "order crop → flip → color jitter → grayscale → blur → solarize, each at most "
                "once; reorder the policy's ops or make its views on the CPU");
  if (h < 1 || w < 1 || (channels != 1 && channels != 3) || h > INT32_MAX / 4 ||
      w > INT32_MAX / 4)
    throw shape_error("simclr: augment::draw_view_params: image " + std::to_string(h) + "×" +
                      std::to_string(w) + " with " + std::to_string(channels) +
                      " channels, expected H, W ≥ 1 and 1 or 3 channels");
  detail::view_draw d;
  d.h = h;
  d.w = w;
  d.p.in_h = static_cast<std::int32_t>(h);
  d.p.in_w = static_cast<std::int32_t>(w);
  d.p.channels = static_cast<std::int32_t>(channels);
  d.p.crop_h = d.p.out_h = static_cast<std::int32_t>(h);
  d.p.crop_w = d.p.out_w = static_cast<std::int32_t>(w);
  detail::draw_op(policy, d, rng);
  return d.p;
}

/// The 2N view parameters of a two-view batch of N images of size h × w × channels, in
/// two_views' layout and with its keys: entry v·N + i is view v of image i, drawn from
/// stream(view_key(at, sample_indices[i] or batch_index·N + i, v)) with the policy's
/// for_batch(batch_view_key(at, v)) copy — the same numbers as augment::two_views on the CPU.
template <class Policy>
[[nodiscard]] std::vector<view_params> draw_two_views_params(
    const Policy& policy, index_t n, index_t h, index_t w, index_t channels,
    const batch_position& at, std::span<const std::uint64_t> sample_indices = {}) {
  if (n < 1) throw shape_error("simclr: augment::two_views: the batch is empty");
  if (!sample_indices.empty() && static_cast<index_t>(sample_indices.size()) != n)
    throw shape_error("simclr: augment::two_views: " + std::to_string(sample_indices.size()) +
                      " sample indices for " + std::to_string(n) + " images");
  const Policy views[2] = {detail::for_batch(policy, batch_view_key(at, 0)),
                           detail::for_batch(policy, batch_view_key(at, 1))};
  std::vector<view_params> out(static_cast<std::size_t>(2 * n));
  for (index_t job = 0; job < 2 * n; ++job) {
    const index_t i = job % n, v = job / n;
    const std::uint64_t sample =
        sample_indices.empty()
            ? at.batch_index * static_cast<std::uint64_t>(n) + static_cast<std::uint64_t>(i)
            : sample_indices[static_cast<std::size_t>(i)];
    random::stream rng(view_key(at, sample, static_cast<std::uint64_t>(v)));
    out[static_cast<std::size_t>(job)] = draw_view_params(views[v], h, w, channels, rng);
  }
  return out;
}

}  // namespace simclr::augment
