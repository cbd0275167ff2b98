// simclr::augment resized crop: resize, the torchvision and TF crop samplers, random_resized_crop.
#pragma once

#include <math.h>  // ::floorf, ::lrintf (host and device)

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <simclr/augment/device_op.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/error.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

namespace simclr::augment {

/// A crop rectangle in pixels: rows [top, top + height), columns [left, left + width).
struct crop_box {
  index_t top = 0;
  index_t left = 0;
  index_t height = 0;
  index_t width = 0;
  friend constexpr bool operator==(const crop_box&, const crop_box&) = default;
};

/// Resampling filter of resize / resized_crop. Both follow torch.nn.functional.interpolate with
/// align_corners=False and antialias=False (what torchvision's tensor resize does): half-pixel
/// centres, edge samples clamped; bicubic uses Keys' kernel with a = −0.75 and may overshoot
/// [0, 1] (it is not clamped).
/// `bicubic_tf` is TF2's tf.image.resize(method=BICUBIC, antialias=False) (SimCLR v2's crop):
/// Keys' kernel with a = −0.5 read from TF's 1024-entry weight table, taps outside the image
/// dropped and the rest renormalised.
enum class interpolation { bilinear, bicubic, bicubic_tf };

namespace detail {

/// The source taps of output position `o` along one axis over [origin, origin + in) → `out`
/// samples, as torch's upsample kernels compute them in float (UpSample.h:
/// area_pixel_compute_source_index, compute_source_index_and_lambda,
/// get_cubic_upsample_coefficients; bicubic_tf: TF's resize_bicubic_op.cc GetWeightsAndIndices
/// with Keys' a = −0.5 table). Host and device: the CPU crop precomputes them per axis
/// (make_resample_axis), the host/device pass per position.
struct taps {
  int n = 0;
  index_t index[4] = {};  ///< absolute source indices (offset by the crop origin)
  float weight[4] = {};
};
template <interpolation Mode>
SIMCLR_HOST_DEVICE inline taps resample_taps_of(index_t origin, index_t in, index_t out,
                                                index_t o) {
  using namespace view;
  taps t;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  if constexpr (Mode == interpolation::bilinear) {
    t.n = 2;
    index_t i0 = o, i1 = o;
    float l0 = 1.0f, l1 = 0.0f;
    if (in != out) {
      float src = sub(mul(scale, add(static_cast<float>(o), 0.5f)), 0.5f);
      if (src < 0.0f) src = 0.0f;
      i0 = static_cast<index_t>(src);
      i1 = i0 + (i0 < in - 1 ? 1 : 0);
      l1 = fmin2(fmax2(sub(src, static_cast<float>(i0)), 0.0f), 1.0f);
      l0 = 1.0f - l1;
    }
    t.index[0] = origin + i0;
    t.index[1] = origin + i1;
    t.weight[0] = l0;
    t.weight[1] = l1;
  } else if constexpr (Mode == interpolation::bicubic_tf) {
    constexpr int table = 1024;
    constexpr double ka = -0.5;
    const auto near = [](int i) {  // InitCoeffsTable(−0.5)[2i]: kernel at x = i / 1024
      const auto x = static_cast<float>(i * 1.0 / table);
      return static_cast<float>(((ka + 2) * x - (ka + 3)) * x * x + 1);
    };
    const auto far = [](int i) {  // InitCoeffsTable(−0.5)[2i + 1]: kernel at x = 1 + i / 1024
      auto x = static_cast<float>(i * 1.0 / table);
      x += 1.0f;
      return static_cast<float>(((ka * x - 5 * ka) * x + 8 * ka) * x - 4 * ka);
    };
    t.n = 4;
    const float src = sub(mul(add(static_cast<float>(o), 0.5f), scale), 0.5f);
    const float fl = ::floorf(src);
    const auto i = static_cast<index_t>(fl);
    const auto offset = static_cast<int>(::lrintf(mul(sub(src, fl), static_cast<float>(table))));
    float w[4] = {far(offset), near(offset), near(table - offset), far(table - offset)};
    float sum = 0.0f;
    for (int j = 0; j < 4; ++j) {
      const index_t at = i - 1 + j;
      if (at < 0 || at > in - 1) w[j] = 0.0f;
      sum = add(sum, w[j]);
    }
    constexpr float tiny = 1000.0f * 1.17549435e-38f;  // 1000 · FLT_MIN, as TF
    if ((sum < 0.0f ? -sum : sum) >= tiny) {
      const float inv = 1.0f / sum;
      for (float& v : w) v = mul(v, inv);
    }
    for (int j = 0; j < 4; ++j) {
      t.index[j] = origin + clampi(i - 1 + j, 0, in - 1);
      t.weight[j] = w[j];
    }
  } else {
    constexpr float a = -0.75f;
    const auto conv1 = [](float x) {
      return add(mul(mul(sub(mul(a + 2.0f, x), a + 3.0f), x), x), 1.0f);
    };
    const auto conv2 = [](float x) {
      return sub(mul(add(mul(sub(mul(a, x), 5.0f * a), x), 8.0f * a), x), 4.0f * a);
    };
    t.n = 4;
    const float src = sub(mul(scale, add(static_cast<float>(o), 0.5f)), 0.5f);
    const float fl = ::floorf(src);
    const auto i = static_cast<index_t>(fl);
    const float d = sub(src, fl);
    const float w[4] = {conv2(add(d, 1.0f)), conv1(d), conv1(sub(1.0f, d)), conv2(sub(2.0f, d))};
    for (int j = 0; j < 4; ++j) {
      t.index[j] = origin + clampi(i - 1 + j, 0, in - 1);
      t.weight[j] = w[j];
    }
  }
  return t;
}
/// resample_taps_of for a filter chosen at run time.
SIMCLR_HOST_DEVICE inline taps resample_taps(index_t origin, index_t in, index_t out,
                                             interpolation mode, index_t o) {
  if (mode == interpolation::bilinear)
    return resample_taps_of<interpolation::bilinear>(origin, in, out, o);
  if (mode == interpolation::bicubic_tf)
    return resample_taps_of<interpolation::bicubic_tf>(origin, in, out, o);
  return resample_taps_of<interpolation::bicubic>(origin, in, out, o);
}

/// Per-output-pixel source taps along one axis: `taps` indices (absolute, already offset by the
/// crop origin) and weights per output position.
struct resample_axis {
  int taps = 0;
  std::vector<index_t> index;  // (out, taps)
  std::vector<float> weight;   // (out, taps)
};

/// resample_taps for every output position of one axis (one loop per filter, so the taps'
/// arithmetic is inlined into it).
inline resample_axis make_resample_axis(index_t origin, index_t in, index_t out,
                                        interpolation mode) {
  resample_axis ax;
  const auto fill = [&]<interpolation Mode>(std::integral_constant<interpolation, Mode>) {
    constexpr int n = Mode == interpolation::bilinear ? 2 : 4;
    ax.taps = n;
    ax.index.resize(static_cast<std::size_t>(out * n));
    ax.weight.resize(static_cast<std::size_t>(out * n));
    for (index_t o = 0; o < out; ++o) {
      const taps t = resample_taps_of<Mode>(origin, in, out, o);
      for (int j = 0; j < n; ++j) {
        const auto k = static_cast<std::size_t>(n * o + j);
        ax.index[k] = t.index[j];
        ax.weight[k] = t.weight[j];
      }
    }
  };
  if (mode == interpolation::bilinear)
    fill(std::integral_constant<interpolation, interpolation::bilinear>{});
  else if (mode == interpolation::bicubic_tf)
    fill(std::integral_constant<interpolation, interpolation::bicubic_tf>{});
  else
    fill(std::integral_constant<interpolation, interpolation::bicubic>{});
  return ax;
}

/// Throws value_error unless `box` lies inside an h × w image and is non-empty.
inline void check_box(const crop_box& box, index_t h, index_t w, const char* what) {
  if (box.height < 1 || box.width < 1 || box.top < 0 || box.left < 0 || box.top + box.height > h ||
      box.left + box.width > w)
    throw value_error(std::string("simclr: ") + what + ": crop box (top " +
                      std::to_string(box.top) + ", left " + std::to_string(box.left) + ", height " +
                      std::to_string(box.height) + ", width " + std::to_string(box.width) +
                      ") is empty or outside the " + std::to_string(h) + "×" + std::to_string(w) +
                      " image");
}

}  // namespace detail

/// Crops `box` out of `img` (C, H, W) and resizes it to (C, out_h, out_w) in one pass — the same
/// numbers as torchvision's `resized_crop(img, top, left, height, width, [out_h, out_w],
/// interpolation, antialias=False)` on a float tensor. Separable: every needed source row is
/// filtered horizontally once (precomputed taps), then output rows combine those rows.
[[nodiscard]] inline image_f32 resized_crop(const image_f32& img, const crop_box& box,
                                            index_t out_h, index_t out_w,
                                            interpolation mode = interpolation::bilinear) {
  expect_image(img, "augment::resized_crop");
  const index_t c = img.extent(0), h = img.extent(1), w = img.extent(2);
  detail::check_box(box, h, w, "augment::resized_crop");
  if (out_h < 1 || out_w < 1)
    throw value_error("simclr: augment::resized_crop: output size " + std::to_string(out_h) + "×" +
                      std::to_string(out_w) + ", expected ≥ 1×1");
  const detail::resample_axis cols = detail::make_resample_axis(box.left, box.width, out_w, mode);
  const detail::resample_axis rows = detail::make_resample_axis(box.top, box.height, out_h, mode);
  const int tx = cols.taps, ty = rows.taps;

  // Which crop rows feed some output row: only those are filtered horizontally.
  std::vector<index_t> slot(static_cast<std::size_t>(box.height), -1);  // crop row -> buffer row
  index_t n_needed = 0;
  for (const index_t r : rows.index) {
    auto& s = slot[static_cast<std::size_t>(r - box.top)];
    if (s < 0) s = n_needed++;
  }
  std::vector<float> filtered(static_cast<std::size_t>(n_needed * out_w));  // (needed rows, out_w)
  image_f32 out(shape{c, out_h, out_w}, uninitialized);                     // (C, out_h, out_w)

  const index_t* cidx = cols.index.data();
  const float* cw = cols.weight.data();
  std::vector<const float*> taps(static_cast<std::size_t>(ty));  // an output row's source rows
  // Compiled for the CPU path in use (simclr/backend/cpu/dispatch.hpp).
  simclr::detail::with_isa(current_cpu_isa(), [&](auto bytes) {
    using L = simclr::detail::simd<float, decltype(bytes)::value>;
    using V = typename L::vec;
    for (index_t k = 0; k < c; ++k) {
      const float* plane = img.data() + k * h * w;
      for (index_t r = 0; r < box.height; ++r) {
        const index_t s = slot[static_cast<std::size_t>(r)];
        if (s < 0) continue;
        const float* src = plane + (box.top + r) * w;
        float* dst = filtered.data() + s * out_w;
        if (tx == 2) {
          for (index_t x = 0; x < out_w; ++x)
            dst[x] = src[cidx[2 * x]] * cw[2 * x] + src[cidx[2 * x + 1]] * cw[2 * x + 1];
        } else {
          for (index_t x = 0; x < out_w; ++x) {
            const index_t* i4 = cidx + 4 * x;
            const float* w4 = cw + 4 * x;
            float acc = src[i4[0]] * w4[0];
            acc += src[i4[1]] * w4[1];
            acc += src[i4[2]] * w4[2];
            acc += src[i4[3]] * w4[3];
            dst[x] = acc;
          }
        }
      }
      // Output row y = Σ_j weight_j · filtered row j, in tap order, one register at a time.
      float* oplane = out.data() + k * out_h * out_w;
      for (index_t y = 0; y < out_h; ++y) {
        float* o = oplane + y * out_w;
        const float* wy = rows.weight.data() + y * ty;
        for (int j = 0; j < ty; ++j)
          taps[static_cast<std::size_t>(j)] =
              filtered.data() +
              slot[static_cast<std::size_t>(rows.index[static_cast<std::size_t>(y * ty + j)] -
                                            box.top)] *
                  out_w;
        index_t x = 0;
        for (; x + L::width <= out_w; x += L::width) {
          V acc, v;
          L::load(v, taps[0] + x);
          acc = v * wy[0];
          for (int j = 1; j < ty; ++j) {
            L::load(v, taps[static_cast<std::size_t>(j)] + x);
            acc += v * wy[j];
          }
          L::store(o + x, acc);
        }
        for (; x < out_w; ++x) {
          float acc = taps[0][x] * wy[0];
          for (int j = 1; j < ty; ++j) acc += taps[static_cast<std::size_t>(j)][x] * wy[j];
          o[x] = acc;
        }
      }
    }
  });
  return out;
}

/// Resizes the whole of `img` (C, H, W) to (C, out_h, out_w) — torchvision's `resize` with
/// antialias=False on a float tensor.
[[nodiscard]] inline image_f32 resize(const image_f32& img, index_t out_h, index_t out_w,
                                      interpolation mode = interpolation::bilinear) {
  expect_image(img, "augment::resize");
  return resized_crop(img, crop_box{0, 0, img.extent(1), img.extent(2)}, out_h, out_w, mode);
}

/// torchvision's RandomResizedCrop.get_params: up to 10 attempts at area = H·W·U(scale) and
/// aspect ratio (w / h) = exp(U(log ratio)), w = round(√(area·ar)), h = round(√(area/ar)),
/// accepted when it fits, at a uniform position; otherwise a central crop clamped to the ratio
/// range. Rounding is half-to-even, as Python's round.
[[nodiscard]] inline crop_box sample_crop_torchvision(index_t height, index_t width,
                                                      std::array<double, 2> scale,
                                                      std::array<double, 2> ratio,
                                                      random::stream& rng) {
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const float log_r0 = std::log(static_cast<float>(ratio[0]));
  const float log_r1 = std::log(static_cast<float>(ratio[1]));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area =
        area * static_cast<double>(
                   rng.uniform(static_cast<float>(scale[0]), static_cast<float>(scale[1])));
    const double aspect = static_cast<double>(std::exp(rng.uniform(log_r0, log_r1)));
    const auto w = static_cast<index_t>(std::nearbyint(std::sqrt(target_area * aspect)));
    const auto h = static_cast<index_t>(std::nearbyint(std::sqrt(target_area / aspect)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const auto top =
          static_cast<index_t>(rng.uniform_int(static_cast<std::uint32_t>(height - h + 1)));
      const auto left =
          static_cast<index_t>(rng.uniform_int(static_cast<std::uint32_t>(width - w + 1)));
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  const double r_min = std::min(ratio[0], ratio[1]), r_max = std::max(ratio[0], ratio[1]);
  index_t w = width, h = height;
  if (in_ratio < r_min) {
    h = static_cast<index_t>(std::nearbyint(static_cast<double>(w) / r_min));
  } else if (in_ratio > r_max) {
    w = static_cast<index_t>(std::nearbyint(static_cast<double>(h) * r_max));
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

/// TensorFlow's sample_distorted_bounding_box as SimCLR calls it (bounding box = whole image,
/// min_object_covered 0.1, use_image_if_no_bounding_boxes): up to `max_attempts` draws of an
/// aspect ratio (w / h) uniform in `ratio`, a height uniform among the integers between the
/// heights of area fraction scale[0] and scale[1], w = round(h·ar); accepted when the area
/// fraction lies in `scale`, the box fits and covers ≥ `min_covered` of the image; the offset is
/// uniform in [0, H − h) (TF never picks the last one). Fallback: the whole image. A restatement
/// of tensorflow/core/kernels/image/sample_distorted_bounding_box_op.cc, in float as there.
[[nodiscard]] inline crop_box sample_crop_tf(index_t height, index_t width,
                                             std::array<double, 2> scale,
                                             std::array<double, 2> ratio, random::stream& rng,
                                             int max_attempts = 100, float min_covered = 0.1f) {
  const auto H = static_cast<int>(height), W = static_cast<int>(width);
  const float min_area =
      static_cast<float>(scale[0]) * static_cast<float>(W) * static_cast<float>(H);
  const float max_area =
      static_cast<float>(scale[1]) * static_cast<float>(W) * static_cast<float>(H);
  const auto r0 = static_cast<float>(ratio[0]), r1 = static_cast<float>(ratio[1]);
  for (int attempt = 0; attempt < max_attempts; ++attempt) {
    const float ar = rng.uniform() * (r1 - r0) + r0;
    int h = static_cast<int>(std::lrint(std::sqrt(min_area / ar)));
    int max_h = static_cast<int>(std::lrint(std::sqrt(max_area / ar)));
    if (std::lrint(static_cast<float>(max_h) * ar) > W) {
      constexpr float eps = 0.0000001f;
      max_h = static_cast<int>((static_cast<double>(W) + 0.5 - static_cast<double>(eps)) /
                               static_cast<double>(ar));  // in double, as TF's expression
      if (std::lrint(static_cast<float>(max_h) * ar) > W) max_h -= 1;
    }
    if (max_h > H) max_h = H;
    if (h >= max_h) h = max_h;
    if (h < max_h)
      h += static_cast<int>(rng.uniform_int(static_cast<std::uint32_t>(max_h - h + 1)));
    int w = static_cast<int>(std::lrint(static_cast<float>(h) * ar));
    auto area = static_cast<float>(w * h);
    if (area < min_area) {
      h += 1;
      w = static_cast<int>(std::lrint(static_cast<float>(h) * ar));
      area = static_cast<float>(w * h);
    }
    if (area > max_area) {
      h -= 1;
      w = static_cast<int>(std::lrint(static_cast<float>(h) * ar));
      area = static_cast<float>(w * h);
    }
    if (area < min_area || area > max_area || w > W || h > H || w <= 0 || h <= 0) continue;
    const int y = h < H ? static_cast<int>(rng.uniform_int(static_cast<std::uint32_t>(H - h))) : 0;
    const int x = w < W ? static_cast<int>(rng.uniform_int(static_cast<std::uint32_t>(W - w))) : 0;
    // SatisfiesOverlapConstraints against the whole-image box.
    if (static_cast<float>(w * h) < 1.0f) continue;
    if (static_cast<float>(w * h) / (static_cast<float>(W) * static_cast<float>(H)) < min_covered)
      continue;
    return {y, x, h, w};
  }
  return {0, 0, height, width};
}

/// Random resized crop to (C, height, width): a box from the torchvision sampler (default) or
/// the TF sampler (`sampler = semantics::tf`), then resized_crop. Bicubic output is clamped to
/// [0, 1] (SimCLR's TF code clips after its bicubic resize; an augmentation returns [0, 1]).
struct random_resized_crop {
  index_t height = 224;                               ///< output rows
  index_t width = 224;                                ///< output columns
  std::array<double, 2> scale{0.08, 1.0};             ///< area fraction range
  std::array<double, 2> ratio{3.0 / 4.0, 4.0 / 3.0};  ///< aspect ratio (w / h) range
  interpolation mode = interpolation::bilinear;       ///< resampling filter
  semantics sampler = semantics::torchvision;         ///< which crop sampler

  /// A square `size`×`size` crop; throws value_error for bad parameters.
  explicit random_resized_crop(index_t size, std::array<double, 2> scale_range = {0.08, 1.0},
                               std::array<double, 2> ratio_range = {3.0 / 4.0, 4.0 / 3.0},
                               interpolation filter = interpolation::bilinear,
                               semantics crop_sampler = semantics::torchvision)
      : height(size),
        width(size),
        scale(scale_range),
        ratio(ratio_range),
        mode(filter),
        sampler(crop_sampler) {
    validate();
  }

  /// Throws value_error unless the sizes are ≥ 1, 0 < scale min ≤ max ≤ 1 and 0 < ratio min ≤ max.
  void validate() const {
    if (height < 1 || width < 1)
      throw value_error("simclr: random_resized_crop: output size " + std::to_string(height) + "×" +
                        std::to_string(width) + ", expected ≥ 1×1");
    detail::check_range(scale[0], scale[1], "random_resized_crop scale");
    if (!(scale[0] > 0.0 && scale[1] <= 1.0))
      throw value_error("simclr: random_resized_crop scale is (" + std::to_string(scale[0]) + ", " +
                        std::to_string(scale[1]) + "), expected 0 < min ≤ max ≤ 1");
    detail::check_range(ratio[0], ratio[1], "random_resized_crop ratio");
    if (!(ratio[0] > 0.0))
      throw value_error("simclr: random_resized_crop ratio min is " + std::to_string(ratio[0]) +
                        ", expected > 0");
  }

  /// The box this transform would crop from an h × w image, drawn from `rng`.
  [[nodiscard]] crop_box sample(index_t h, index_t w, random::stream& rng) const {
    return sampler == semantics::tf ? sample_crop_tf(h, w, scale, ratio, rng)
                                    : sample_crop_torchvision(h, w, scale, ratio, rng);
  }

  /// One view's draw: the box and the output size and filter (device_augmentation).
  struct params {
    std::int32_t top = 0, left = 0, height = 0, width = 0;  ///< the box in the source
    std::int32_t out_h = 0, out_w = 0;
    interpolation mode = interpolation::bilinear;
  };

  /// The box from `rng` (sample); the view becomes height × width.
  [[nodiscard]] params draw(view_geometry& g, random::stream& rng) const {
    const crop_box box = sample(g.h, g.w, rng);
    g.h = height;
    g.w = width;
    const auto i32 = [](index_t v) { return static_cast<std::int32_t>(v); };
    return params{i32(box.top),  i32(box.left), i32(box.height), i32(box.width),
                  i32(height),   i32(width),    mode};
  }
  /// The CPU pass: resized_crop of the box (bicubic output clamped to [0, 1]).
  [[nodiscard]] image_f32 apply(const params& q, const image_f32& img) const {
    image_f32 out = resized_crop(img, crop_box{q.top, q.left, q.height, q.width}, q.out_h,
                                 q.out_w, q.mode);
    if (q.mode != interpolation::bilinear)
      for (float& v : out.values()) v = std::min(std::max(v, 0.0f), 1.0f);
    return out;
  }
  void apply(const params& q, image_f32& img) const {
    img = apply(q, std::as_const(img));
  }
  /// The host/device pass (device_augmentation, a source op): reads the source image through
  /// `src(channel, y, x)` and writes the view, each output value from resample_taps' rows and
  /// columns in the CPU crop's filter order.
  template <class Exec, class Source>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const Source& src,
                                       const view_buffer& v) {
    using namespace detail::view;
    const index_t oh = v.h, ow = v.w, plane = v.plane();
    float* out = v.data;
    const bool clamp = q.mode != interpolation::bilinear;
    exec.for_each(v.size(), [&](index_t e) {
      const index_t ch = e / plane, y = (e / ow) % oh, x = e % ow;
      const detail::taps rows = detail::resample_taps(q.top, q.height, oh, q.mode, y);
      const detail::taps cols = detail::resample_taps(q.left, q.width, ow, q.mode, x);
      float o = 0.0f;
      for (int j = 0; j < rows.n; ++j) {
        const index_t r = rows.index[j];
        float f;
        if (cols.n == 2) {
          f = add(mul(src(ch, r, cols.index[0]), cols.weight[0]),
                  mul(src(ch, r, cols.index[1]), cols.weight[1]));
        } else {
          f = mul(src(ch, r, cols.index[0]), cols.weight[0]);
          for (int k = 1; k < 4; ++k) f = add(f, mul(src(ch, r, cols.index[k]), cols.weight[k]));
        }
        o = j == 0 ? mul(f, rows.weight[0]) : add(o, mul(f, rows.weight[j]));
      }
      if (clamp) o = fmin2(fmax2(o, 0.0f), 1.0f);
      out[e] = o;
    });
    exec.sync();
  }

  /// Draw, then the CPU pass.
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    expect_image(img, "augment::random_resized_crop");
    view_geometry g = geometry_of(img);
    return apply(draw(g, rng), img);
  }
};

}  // namespace simclr::augment
