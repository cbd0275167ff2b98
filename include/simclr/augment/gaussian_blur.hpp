// simclr::augment Gaussian blur: kernel, gaussian_blur and random_gaussian_blur.
#pragma once

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <simclr/augment/device_op.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/backend/cpu/dispatch.hpp>
#include <simclr/backend/cpu/simd.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

/// How gaussian_blur fills the border: mirror without repeating the edge (torchvision's
/// "reflect") or zeros (TF's conv2d "SAME").
enum class blur_padding { reflect, zero };

/// The normalised 1-D kernel exp(−t²/2σ²), t = −(k−1)/2 … (k−1)/2, as torchvision's
/// _get_gaussian_kernel1d computes it in float, with taps below 2^-100 set to 0. `size` must be
/// odd and ≥ 1, σ > 0.
[[nodiscard]] inline std::vector<float> gaussian_kernel(index_t size, float sigma) {
  if (size < 1 || size % 2 == 0)
    throw value_error("simclr: augment::gaussian_kernel: size " + std::to_string(size) +
                      ", expected an odd number ≥ 1");
  if (!(sigma > 0.0f && std::isfinite(sigma)))
    throw value_error("simclr: augment::gaussian_kernel: sigma " + std::to_string(sigma) +
                      ", expected a finite value > 0");
  std::vector<float> k(static_cast<std::size_t>(size));
  const float half = static_cast<float>(size - 1) * 0.5f;
  float sum = 0.0f;
  for (index_t i = 0; i < size; ++i) {
    const float t = (static_cast<float>(i) - half) / sigma;
    const float v = std::exp(-0.5f * (t * t));
    k[static_cast<std::size_t>(i)] = v;
    sum += v;
  }
  // Taps below 2^-100 become 0: they change no blurred value by more than 1e-29, and their
  // products with pixels are subnormal floats, which cost x86 cores ~100 cycles each (σ ≈ 0.3
  // made the whole blur 4× slower).
  for (float& v : k) {
    v /= sum;
    if (v < 0x1p-100f) v = 0.0f;
  }
  return k;
}

/// SimCLR's blur kernel size for an image side: ⌊fraction · side⌋, made odd by adding 1 when
/// even (224 → 23; the TF code's radius = ⌊k/2⌋, size 2·radius + 1 gives the same).
[[nodiscard]] inline index_t blur_kernel_size(index_t side, double fraction = 0.1) {
  if (!(fraction > 0.0 && fraction <= 1.0))
    throw value_error("simclr: augment::blur_kernel_size: fraction " + std::to_string(fraction) +
                      ", expected a value in (0, 1]");
  auto k = static_cast<index_t>(std::floor(fraction * static_cast<double>(side)));
  if (k % 2 == 0) k += 1;
  return k;
}

namespace detail {
/// Index `i` mirrored into [0, n) without repeating the edge (−1 → 1, n → n − 2), folded again
/// when the kernel is wider than the image; 0 when n = 1 (host and device).
SIMCLR_HOST_DEVICE inline index_t reflect_index(index_t i, index_t n) {
  if (n == 1) return 0;
  const index_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}
/// out[x] = k[r]·lo[r][x] + Σ_{j<r} k[j]·(lo[j][x] + hi[j][x]) for x < n, lo and hi row pointers
/// per tap: the symmetric kernel's taps paired (one multiply per pair), two pairs per step,
/// summed in that order. One register of outputs at a time (simd<float, Bytes>) runs through
/// every tap before it is stored; the tail repeats the same arithmetic. `out` may not alias the
/// inputs.
template <std::size_t Bytes>
void symmetric_taps(const float* k, index_t r, index_t n, const float* const* lo,
                    const float* const* hi, float* out) {
  using L = simclr::detail::simd<float, Bytes>;
  using V = typename L::vec;
  // Outer pairs of zero taps add exact zeros: skip them (a small σ uses a few taps of 23).
  index_t first = 0;
  while (first + 2 <= r && k[first] == 0.0f && k[first + 1] == 0.0f) first += 2;
  index_t x = 0;
  for (; x + L::width <= n; x += L::width) {
    V acc, a0, b0, a1, b1;
    L::load(a0, lo[r] + x);
    acc = k[r] * a0;
    index_t j = first;
    for (; j + 2 <= r; j += 2) {
      L::load(a0, lo[j] + x);
      L::load(b0, hi[j] + x);
      L::load(a1, lo[j + 1] + x);
      L::load(b1, hi[j + 1] + x);
      acc += k[j] * (a0 + b0) + k[j + 1] * (a1 + b1);
    }
    if (j < r) {
      L::load(a0, lo[j] + x);
      L::load(b0, hi[j] + x);
      acc += k[j] * (a0 + b0);
    }
    L::store(out + x, acc);
  }
  for (; x < n; ++x) {
    float acc = k[r] * lo[r][x];
    index_t j = first;
    for (; j + 2 <= r; j += 2)
      acc += k[j] * (lo[j][x] + hi[j][x]) + k[j + 1] * (lo[j + 1][x] + hi[j + 1][x]);
    if (j < r) acc += k[j] * (lo[j][x] + hi[j][x]);
    out[x] = acc;
  }
}

/// symmetric_taps' sum at one position, as the host/device pass computes it:
/// k[r]·v(0) + Σ over pairs (two pairs per step) k_j·(v(j − r) + v(r − j)), the same order.
template <class Value>
SIMCLR_HOST_DEVICE float symmetric_sum(const float* k, index_t r, Value&& v) {
  using namespace view;
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

}  // namespace detail

/// The largest blur kernel the host/device pass takes: its half, 64 taps, is stored in the
/// view's parameters (views up to 1279 rows with SimCLR's 10 % rule).
inline constexpr index_t max_device_blur_size = 127;

/// Blurs `img` (C, H, W) with a size×size Gaussian of standard deviation σ, one channel at a time
/// — torchvision's gaussian_blur(img, [size, size], [σ, σ]) with reflect padding (the default),
/// or TF SimCLR's depthwise conv with zero ("SAME") padding. Separable: a horizontal pass into a
/// scratch plane, then a vertical one, both as vectorisable multiply-adds over whole rows, with
/// the symmetric taps paired (k_j·(a + b)).
[[nodiscard]] inline image_f32 gaussian_blur(image_f32 img, index_t size, float sigma,
                                             blur_padding padding = blur_padding::reflect) {
  expect_image(img, "augment::gaussian_blur");
  const std::vector<float> k = gaussian_kernel(size, sigma);
  if (size == 1) return img;
  const index_t c = img.extent(0), h = img.extent(1), w = img.extent(2), r = size / 2;
  std::vector<float> row(static_cast<std::size_t>(w + 2 * r));  // one padded row
  std::vector<float> tmp(static_cast<std::size_t>(h * w));      // (H, W) horizontal pass
  std::vector<float> zeros(static_cast<std::size_t>(w), 0.0f);  // the zero-padding row
  std::vector<const float*> lo(static_cast<std::size_t>(r + 1)), hi(lo.size());  // tap rows
  // Both passes compiled for the CPU path in use (simclr/backend/cpu/dispatch.hpp).
  simclr::detail::with_isa(current_cpu_isa(), [&](auto bytes) {
    constexpr std::size_t width = decltype(bytes)::value;
    for (index_t ch = 0; ch < c; ++ch) {
      float* p = img.data() + ch * h * w;
      // Horizontal: tap j of output x reads padded[x + j]; pair it with tap size − 1 − j.
      for (index_t j = 0; j <= r; ++j) {
        lo[static_cast<std::size_t>(j)] = row.data() + j;
        hi[static_cast<std::size_t>(j)] = row.data() + (size - 1 - j);
      }
      for (index_t y = 0; y < h; ++y) {
        const float* src = p + y * w;
        for (index_t x = -r; x < 0; ++x)
          row[static_cast<std::size_t>(x + r)] =
              padding == blur_padding::reflect ? src[detail::reflect_index(x, w)] : 0.0f;
        std::copy(src, src + w, row.data() + r);
        for (index_t x = w; x < w + r; ++x)
          row[static_cast<std::size_t>(x + r)] =
              padding == blur_padding::reflect ? src[detail::reflect_index(x, w)] : 0.0f;
        detail::symmetric_taps<width>(k.data(), r, w, lo.data(), hi.data(), tmp.data() + y * w);
      }
      // Vertical: tap j of output row y reads row y + j − r of the horizontal pass.
      const auto source_row = [&](index_t sy) -> const float* {
        if (sy >= 0 && sy < h) return tmp.data() + sy * w;
        if (padding == blur_padding::zero) return zeros.data();
        return tmp.data() + detail::reflect_index(sy, h) * w;
      };
      for (index_t y = 0; y < h; ++y) {
        for (index_t j = 0; j <= r; ++j) {
          lo[static_cast<std::size_t>(j)] = source_row(y + j - r);
          hi[static_cast<std::size_t>(j)] = source_row(y + r - j);
        }
        detail::symmetric_taps<width>(k.data(), r, w, lo.data(), hi.data(), p + y * w);
      }
    }
  });
  return img;
}

/// Gaussian blur with σ ~ U[sigma_min, sigma_max] (torchvision's GaussianBlur; wrap it in
/// random_apply for SimCLR's p = 0.5). The kernel is `kernel_size` wide, or, when that is 0,
/// blur_kernel_size(image height, kernel_fraction) (SimCLR: 10% of the side). TF mode pads with
/// zeros and, inside two_views, uses one σ per batch and view (SimCLR's batch_random_blur):
/// for_batch fixes it.
struct random_gaussian_blur {
  std::array<float, 2> sigma{0.1f, 2.0f};  ///< σ range
  index_t kernel_size = 0;                 ///< odd size, or 0 for kernel_fraction of the height
  double kernel_fraction = 0.1;            ///< kernel size as a fraction of the image height
  semantics sem = semantics::torchvision;  ///< reflect padding, or zero padding + batch σ (tf)
  std::optional<float> fixed_sigma;        ///< set by for_batch in TF mode

  /// Throws value_error for a bad σ range, an even kernel size or a fraction outside (0, 1].
  explicit random_gaussian_blur(std::array<float, 2> sigma_range = {0.1f, 2.0f}, index_t size = 0,
                                double fraction = 0.1, semantics mode = semantics::torchvision)
      : sigma(sigma_range), kernel_size(size), kernel_fraction(fraction), sem(mode) {
    detail::check_range(sigma[0], sigma[1], "random_gaussian_blur sigma");
    if (!(sigma[0] > 0.0f))
      throw value_error("simclr: random_gaussian_blur sigma min is " + std::to_string(sigma[0]) +
                        ", expected > 0");
    if (kernel_size < 0 || (kernel_size > 0 && kernel_size % 2 == 0))
      throw value_error("simclr: random_gaussian_blur kernel size " + std::to_string(kernel_size) +
                        ", expected an odd number ≥ 1, or 0 for a fraction of the image");
    if (!(kernel_fraction > 0.0 && kernel_fraction <= 1.0))
      throw value_error("simclr: random_gaussian_blur kernel fraction " +
                        std::to_string(kernel_fraction) + ", expected a value in (0, 1]");
  }

  /// The kernel size used on an image of `height` rows.
  [[nodiscard]] index_t size_for(index_t height) const {
    return kernel_size > 0 ? kernel_size : blur_kernel_size(height, kernel_fraction);
  }

  /// In TF mode, a copy whose σ is drawn once from `batch_key` (shared by a whole batch-view);
  /// in torchvision mode, an unchanged copy.
  [[nodiscard]] random_gaussian_blur for_batch(const random::key& batch_key) const {
    random_gaussian_blur b = *this;
    if (sem == semantics::tf) {
      random::stream rng(batch_key);
      b.fixed_sigma = rng.uniform(sigma[0], sigma[1]);
    }
    return b;
  }

  /// One view's draw: σ, the kernel size, the border and, for the device, the kernel's taps
  /// 0 … size / 2 (the centre last; the kernel is symmetric) computed here by gaussian_kernel,
  /// so host and device blur with the same floats.
  struct params {
    std::int32_t size = 0;  ///< kernel size (≤ 1: no blur)
    float sigma = 0.0f;
    blur_padding pad = blur_padding::reflect;
    float taps[64] = {};  ///< set when drawn for the device
  };

  /// σ from `rng` (or the batch's σ in TF mode), the size from the view's height. For the
  /// device (geometry.device) the taps as well; throws value_error for a kernel wider than
  /// max_device_blur_size or a bad σ there.
  [[nodiscard]] params draw(view_geometry& g, random::stream& rng) const {
    params q;
    q.sigma = fixed_sigma ? *fixed_sigma : rng.uniform(sigma[0], sigma[1]);
    const index_t size = size_for(g.h);
    q.size = static_cast<std::int32_t>(std::min<index_t>(size, INT32_MAX));
    q.pad = sem == semantics::tf ? blur_padding::zero : blur_padding::reflect;
    if (g.device) {
      if (size > max_device_blur_size)
        throw value_error("simclr: augment::random_gaussian_blur: kernel size " +
                          std::to_string(size) + " on a " + std::to_string(g.h) +
                          "-row view, the device supports at most " +
                          std::to_string(max_device_blur_size) + " (views up to 1279 rows)");
      const std::vector<float> k = gaussian_kernel(size, q.sigma);  // checks σ
      for (index_t j = 0; j <= size / 2; ++j) q.taps[j] = k[static_cast<std::size_t>(j)];
      if (size > 1) g.scratch = std::max(g.scratch, g.c * g.h * g.w);
    }
    return q;
  }
  /// The CPU pass.
  void apply(const params& q, image_f32& img) const {
    img = gaussian_blur(std::move(img), q.size, q.sigma, q.pad);
  }
  /// The host/device pass (device_augmentation): separable, rows into the scratch, then
  /// columns back into the view, each position's taps paired as symmetric_taps pairs them.
  template <class Exec>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const view_buffer& v) {
    if (q.size <= 1) return;
    const index_t r = q.size / 2, oh = v.h, ow = v.w, plane = v.plane();
    const float* k = q.taps;
    const bool zero = q.pad == blur_padding::zero;
    float* out = v.data;
    float* scratch = v.scratch;
    exec.for_each(v.size(), [&](index_t e) {
      const index_t ch = e / plane, y = (e / ow) % oh, x = e % ow;
      const float* row = out + ch * plane + y * ow;
      scratch[e] = detail::symmetric_sum(k, r, [&](index_t d) {
        const index_t xx = x + d;
        if (xx >= 0 && xx < ow) return row[xx];
        return zero ? 0.0f : row[detail::reflect_index(xx, ow)];
      });
    });
    exec.sync();
    exec.for_each(v.size(), [&](index_t e) {
      const index_t ch = e / plane, y = (e / ow) % oh, x = e % ow;
      const float* col = scratch + ch * plane + x;
      out[e] = detail::symmetric_sum(k, r, [&](index_t d) {
        const index_t yy = y + d;
        if (yy >= 0 && yy < oh) return col[yy * ow];
        return zero ? 0.0f : col[detail::reflect_index(yy, oh) * ow];
      });
    });
    exec.sync();
  }

  /// Blurs `img` in place: draw, then the CPU pass.
  void apply(image_f32& img, random::stream& rng) const {
    expect_image(img, "augment::random_gaussian_blur");
    view_geometry g = geometry_of(img);
    apply(draw(g, rng), img);
  }
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    image_f32 out = img;
    apply(out, rng);
    return out;
  }
};

}  // namespace simclr::augment
