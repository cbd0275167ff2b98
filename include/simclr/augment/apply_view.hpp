// simclr::augment::apply_view: one view from its view_params — one code path for host and device.
#pragma once

#include <math.h>  // ::floorf, ::lrintf (host and device)

#include <cstdint>
#include <string>

#include <simclr/augment/image.hpp>
#include <simclr/augment/view_params.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>

namespace simclr::augment {

/// The executor apply_view runs on: one thread doing every index in order. A device executor
/// (augment/cuda/two_views.cuh) offers the same three members for the threads of one block.
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
// which matters where a result is rounded to an index or table entry).
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
SIMCLR_HOST_DEVICE inline float floor_fast(float x) {  // as detail::floor_fast (color_jitter)
  const auto t = static_cast<float>(static_cast<int>(x));
  return t > x ? t - 1.0f : t;
}
SIMCLR_HOST_DEVICE inline float luma(float r, float g, float b) {
  return add(add(mul(0.2989f, r), mul(0.587f, g)), mul(0.114f, b));
}
SIMCLR_HOST_DEVICE inline index_t clampi(index_t i, index_t lo, index_t hi) {
  return i < lo ? lo : (i > hi ? hi : i);
}
SIMCLR_HOST_DEVICE inline index_t reflect_index(index_t i, index_t n) {  // as gaussian_blur's
  if (n == 1) return 0;
  const index_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

/// The taps of output position `o` along one axis: what make_resample_axis (resized_crop.hpp)
/// computes for that position, index for index and weight for weight.
struct taps {
  int n = 0;
  index_t index[4] = {};
  float weight[4] = {};
};
SIMCLR_HOST_DEVICE inline taps resample_taps(index_t origin, index_t in, index_t out,
                                             interpolation mode, index_t o) {
  taps t;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  if (mode == interpolation::bilinear) {
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
  } else if (mode == interpolation::bicubic_tf) {
    constexpr int table = 1024;
    constexpr double ka = -0.5;
    const auto near = [](int i) {
      const auto x = static_cast<float>(i * 1.0 / table);
      return static_cast<float>(((ka + 2) * x - (ka + 3)) * x * x + 1);
    };
    const auto far = [](int i) {
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
    constexpr float tiny = 1000.0f * 1.17549435e-38f;  // 1000 · FLT_MIN, as the CPU code
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

/// RGB → HSV and back, as detail::rgb_to_hsv / hsv_to_rgb (color_jitter.hpp).
SIMCLR_HOST_DEVICE inline void rgb_to_hsv(float r, float g, float b, float& h, float& s,
                                          float& v) {
  const float maxc = fmax2(r, fmax2(g, b));
  const float minc = fmin2(r, fmin2(g, b));
  const bool eqc = maxc == minc;
  const float cr = maxc - minc;
  s = cr / (eqc ? 1.0f : maxc);
  const float div = eqc ? 1.0f : cr;
  const float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
  const float hr = bc - gc, hg = 2.0f + rc - bc, hb = 4.0f + gc - rc;
  const float hh = maxc == r ? hr : (maxc == g ? hg : hb);
  const float x = hh / 6.0f + 1.0f;
  h = x - floor_fast(x);
  v = maxc;
}
SIMCLR_HOST_DEVICE inline void hsv_to_rgb(float h, float s, float v, float& r, float& g,
                                          float& b) {
  float i = floor_fast(mul(h, 6.0f));
  const float f = sub(mul(h, 6.0f), i);
  i = i >= 6.0f ? i - 6.0f : i;
  const float p = clamp01(mul(v, sub(1.0f, s)));
  const float q = clamp01(mul(v, sub(1.0f, mul(s, f))));
  const float t = clamp01(mul(v, sub(1.0f, mul(s, sub(1.0f, f)))));
  const float r1 = i == 4.0f ? t : p, g1 = i == 3.0f ? q : p, b1 = i == 5.0f ? q : p;
  const float r2 = i == 1.0f ? q : r1, g2 = i == 0.0f ? t : g1, b2 = i == 2.0f ? t : b1;
  const float r3 = i == 0.0f ? v : r2, g3 = i == 1.0f ? v : g2, b3 = i == 3.0f ? v : b2;
  r = i == 5.0f ? v : r3;
  g = i == 2.0f ? v : g3;
  b = i == 4.0f ? v : b3;
}

/// The sum of one row as detail::lane_sum computes it: 8 float lanes, then double.
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

/// The symmetric kernel's sum at one position, as detail::symmetric_taps orders it:
/// k[r]·v(0) + Σ over pairs (two pairs per step) k_j·(v(j − r) + v(r − j)).
template <class Value>
SIMCLR_HOST_DEVICE float symmetric_sum(const float* k, index_t r, Value&& v) {
  float acc = mul(k[r], v(0));
  index_t j = 0;
  for (; j + 2 <= r; j += 2) {
    const float a = mul(k[j], add(v(j - r), v(r - j)));
    const float b = mul(k[j + 1], add(v(j + 1 - r), v(r - j - 1)));
    acc = add(acc, add(a, b));
  }
  if (j < r) acc = add(acc, mul(k[j], add(v(j - r), v(r - j))));
  return acc;
}

}  // namespace detail::view

/// Writes view `p` of `src` into `out` ((C, out_h, out_w) floats): crop + resize (+ flip), color
/// jitter, grayscale, blur, solarize, with the CPU ops' arithmetic (resized_crop's taps and
/// filter order, torchvision's gray-mean / TF's per-channel contrast, the HSV round trip, luma,
/// reflect- or zero-padded separable blur with paired taps). `scratch` holds
/// view_scratch_size(p) floats. Every thread of `exec` calls it with the same arguments;
/// `exec.for_each` splits the work. No checks here (device code): apply_view(p, image) below
/// checks shapes on the host.
template <class Exec, class Source>
SIMCLR_HOST_DEVICE void apply_view(const Exec& exec, const view_params& p, const Source& src,
                                   float* out, float* scratch) {
  namespace v = detail::view;
  const index_t c = p.channels, oh = p.out_h, ow = p.out_w, plane = oh * ow, n = c * plane;

  // crop + resize, the flip folded into the column read
  exec.for_each(n, [&](index_t e) {
    const index_t ch = e / plane, y = (e / ow) % oh, xo = e % ow;
    const index_t x = p.flip ? ow - 1 - xo : xo;
    const v::taps rows = v::resample_taps(p.crop_top, p.crop_h, oh, p.mode, y);
    const v::taps cols = v::resample_taps(p.crop_left, p.crop_w, ow, p.mode, x);
    float o = 0.0f;
    for (int j = 0; j < rows.n; ++j) {
      const index_t r = rows.index[j];
      float f;
      if (cols.n == 2) {
        f = v::add(v::mul(src(ch, r, cols.index[0]), cols.weight[0]),
                   v::mul(src(ch, r, cols.index[1]), cols.weight[1]));
      } else {
        f = v::mul(src(ch, r, cols.index[0]), cols.weight[0]);
        for (int k = 1; k < 4; ++k) f = v::add(f, v::mul(src(ch, r, cols.index[k]), cols.weight[k]));
      }
      o = j == 0 ? v::mul(f, rows.weight[0]) : v::add(o, v::mul(f, rows.weight[j]));
    }
    if (p.clamp_crop) o = v::fmin2(v::fmax2(o, 0.0f), 1.0f);
    out[e] = o;
  });
  exec.sync();

  // color jitter, in the drawn order
  if (p.jitter) {
    const bool tf = p.sem == semantics::tf;
    for (int k = 0; k < 4; ++k) {
      const int op = p.order[k];
      if (!p.jitter_on[op]) continue;
      const float f = p.factor[op];
      if (op == 0) {
        const bool additive = tf && p.brightness_mode == tf_brightness::additive;
        exec.for_each(n, [&](index_t e) {
          out[e] = v::clamp01(additive ? v::add(out[e], f) : v::mul(f, out[e]));
        });
      } else if (op == 1 && tf) {  // per-channel means
        for (index_t ch = 0; ch < c; ++ch) {
          float* q = out + ch * plane;
          const double s = exec.sum(oh, [&](index_t y) {
            return v::row_lane_sum(ow, [&](index_t x) { return q[y * ow + x]; });
          });
          const auto m = static_cast<float>(s / static_cast<double>(plane));
          exec.sync();
          exec.for_each(plane, [&](index_t i) {
            q[i] = v::clamp01(v::add(v::mul(v::sub(q[i], m), f), m));
          });
          exec.sync();
        }
      } else if (op == 1) {  // the mean of the grayscale image
        const double s = exec.sum(oh, [&](index_t y) {
          if (c == 3)
            return v::row_lane_sum(ow, [&](index_t x) {
              const index_t i = y * ow + x;
              return v::luma(out[i], out[plane + i], out[2 * plane + i]);
            });
          return v::row_lane_sum(ow, [&](index_t x) { return out[y * ow + x]; });
        });
        const float m = v::mul(static_cast<float>(1.0 - static_cast<double>(f)),
                               static_cast<float>(s / static_cast<double>(plane)));
        exec.sync();
        exec.for_each(n, [&](index_t e) { out[e] = v::clamp01(v::add(v::mul(f, out[e]), m)); });
      } else if (c == 3 && op == 2 && !tf) {  // blend with the grayscale image
        const float g1 = static_cast<float>(1.0 - static_cast<double>(f));
        exec.for_each(plane, [&](index_t i) {
          const float r = out[i], g = out[plane + i], b = out[2 * plane + i];
          const float y = v::mul(g1, v::luma(r, g, b));
          out[i] = v::clamp01(v::add(v::mul(f, r), y));
          out[plane + i] = v::clamp01(v::add(v::mul(f, g), y));
          out[2 * plane + i] = v::clamp01(v::add(v::mul(f, b), y));
        });
      } else if (c == 3) {  // HSV: TF saturation (S scaled) or hue (H rotated)
        const float delta = op == 3 ? f : 0.0f;
        const float s_factor = op == 2 ? f : 1.0f;
        const bool scale_s = s_factor != 1.0f, clip = tf;
        exec.for_each(plane, [&](index_t i) {
          float h = 0.0f, s = 0.0f, val = 0.0f;
          v::rgb_to_hsv(out[i], out[plane + i], out[2 * plane + i], h, s, val);
          h += delta;
          h -= v::floor_fast(h);
          if (scale_s) s = v::clamp01(v::mul(s, s_factor));
          float r = 0.0f, g = 0.0f, b = 0.0f;
          v::hsv_to_rgb(h, s, val, r, g, b);
          if (clip) {
            r = v::clamp01(r);
            g = v::clamp01(g);
            b = v::clamp01(b);
          }
          out[i] = r;
          out[plane + i] = g;
          out[2 * plane + i] = b;
        });
      }
      exec.sync();
    }
  }

  if (p.grayscale && c == 3) {
    exec.for_each(plane, [&](index_t i) {
      const float y = v::luma(out[i], out[plane + i], out[2 * plane + i]);
      out[i] = y;
      out[plane + i] = y;
      out[2 * plane + i] = y;
    });
    exec.sync();
  }

  if (p.blur_size > 1) {  // separable: rows into scratch, then columns back into out
    const index_t r = p.blur_size / 2;
    const float* k = p.blur_kernel;
    const bool zero = p.blur_pad == blur_padding::zero;
    exec.for_each(n, [&](index_t e) {
      const index_t ch = e / plane, y = (e / ow) % oh, x = e % ow;
      const float* row = out + ch * plane + y * ow;
      scratch[e] = v::symmetric_sum(k, r, [&](index_t d) {
        const index_t xx = x + d;
        if (xx >= 0 && xx < ow) return row[xx];
        return zero ? 0.0f : row[v::reflect_index(xx, ow)];
      });
    });
    exec.sync();
    exec.for_each(n, [&](index_t e) {
      const index_t ch = e / plane, y = (e / ow) % oh, x = e % ow;
      const float* col = scratch + ch * plane + x;
      out[e] = v::symmetric_sum(k, r, [&](index_t d) {
        const index_t yy = y + d;
        if (yy >= 0 && yy < oh) return col[yy * ow];
        return zero ? 0.0f : col[v::reflect_index(yy, oh) * ow];
      });
    });
    exec.sync();
  }

  if (p.solarize) {
    const float t = p.solarize_threshold;
    exec.for_each(n, [&](index_t e) { out[e] = out[e] >= t ? 1.0f - out[e] : out[e]; });
    exec.sync();
  }
}

namespace detail {
inline void expect_view_source(const view_params& p, index_t h, index_t w, index_t c) {
  if (h != p.in_h || w != p.in_w || c != p.channels)
    throw shape_error("simclr: augment::apply_view: the image is " + std::to_string(h) + "×" +
                      std::to_string(w) + " with " + std::to_string(c) +
                      " channels, the view parameters were drawn for " + std::to_string(p.in_h) +
                      "×" + std::to_string(p.in_w) + " with " + std::to_string(p.channels));
}
}  // namespace detail

namespace detail {
/// apply_view on the calling thread into a fresh (C, out_h, out_w) image.
template <class Source>
[[nodiscard]] image_f32 apply_view_serial(const view_params& p, Source src) {
  image_f32 out(shape{p.channels, p.out_h, p.out_w}, uninitialized);  // (C, S, S)
  std::vector<float> scratch(static_cast<std::size_t>(view_scratch_size(p)));
  apply_view(serial_executor{}, p, src, out.data(), scratch.data());
  return out;
}
}  // namespace detail

/// View `p` of an (H, W, C) 8-bit image as a (C, out_h, out_w) float image, on the calling
/// thread. Throws shape_error when the image is not the size `p` was drawn for.
[[nodiscard]] inline image_f32 apply_view(const view_params& p, const image_u8& img) {
  expect_image(img, "augment::apply_view");
  detail::expect_view_source(p, img.extent(0), img.extent(1), img.extent(2));
  return detail::apply_view_serial(
      p, u8_hwc_source{img.data(), img.extent(0), img.extent(1), img.extent(2)});
}

/// View `p` of a (C, H, W) float image as a (C, out_h, out_w) float image.
[[nodiscard]] inline image_f32 apply_view(const view_params& p, const image_f32& img) {
  expect_image(img, "augment::apply_view");
  detail::expect_view_source(p, img.extent(1), img.extent(2), img.extent(0));
  return detail::apply_view_serial(
      p, f32_chw_source{img.data(), img.extent(1), img.extent(2), img.extent(0)});
}

}  // namespace simclr::augment
