// simclr::augment::view_params: every random draw of one view, drawn by the policy's own ops.
#pragma once

#include <climits>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <simclr/augment/compose.hpp>
#include <simclr/augment/device_op.hpp>
#include <simclr/augment/two_views.hpp>
#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

/// Everything one view of `Policy` needs, as plain numbers (trivially copyable: it goes to the
/// device as bytes): the source and view sizes, the scratch the ops asked for, and the policy's
/// own params (Policy::params — for compose a list of each op's, for random_apply whether it
/// fired and the op's). Made by draw_view_params, applied by apply_view (apply_view.hpp).
template <class Policy>
struct view_params {
  std::int32_t in_h = 0, in_w = 0, channels = 0;  ///< the source image
  std::int32_t out_h = 0, out_w = 0;              ///< the view
  index_t scratch = 0;                            ///< floats of scratch apply_view needs
  typename Policy::params ops{};                  ///< the ops' draws
};

namespace detail {
/// The one error for a policy that cannot run on the device (the callers below stop there).
template <class Policy>
constexpr bool expect_device_policy() {
  static_assert(device_augmentation<Policy>,
                "simclr: augment::draw_view_params: the policy holds an op without a device "
                "version — every op must satisfy simclr::device_augmentation (params, draw and a "
                "host/device apply: the built-in ops do, and so can yours, see "
                "docs/augmentations.md), and a crop may only be the policy's first op; or make "
                "this policy's views on the CPU with augment::two_views");
  return device_augmentation<Policy>;
}
}  // namespace detail

/// Floats of scratch apply_view needs for `p` (the blur's horizontal pass).
template <class Policy>
[[nodiscard]] index_t view_scratch_size(const view_params<Policy>& p) {
  return p.scratch;
}

/// The parameters of one view of an h × w image with `channels` channels (1 or 3), drawn from
/// `rng` by the policy's own draws — the same numbers from the same streams as
/// `policy(image, rng)` on the CPU, since the CPU ops are draw + apply as well. `policy` is the
/// per-view copy (after `for_batch`) and must be a device_augmentation. Throws shape_error for a
/// bad image size and value_error for what the device cannot run (a blur kernel > 127 taps).
/// Returns view_params<Policy>.
template <class Policy>
[[nodiscard]] auto draw_view_params(const Policy& policy, index_t h, index_t w, index_t channels,
                                    random::stream& rng) {
  if constexpr (detail::expect_device_policy<Policy>()) {
    if (h < 1 || w < 1 || (channels != 1 && channels != 3) || h > INT32_MAX / 4 ||
        w > INT32_MAX / 4)
      throw shape_error("simclr: augment::draw_view_params: image " + std::to_string(h) + "×" +
                        std::to_string(w) + " with " + std::to_string(channels) +
                        " channels, expected H, W ≥ 1 and 1 or 3 channels");
    view_geometry g{channels, h, w, 0, true};
    view_params<Policy> p;
    p.ops = policy.draw(g, rng);
    if (!detail::device_source_op<Policy> && (g.h != h || g.w != w))
      throw value_error(
          "simclr: augment::draw_view_params: an op changed the view's size without "
          "making it from the source; only a crop as the policy's first op may");
    if (g.h < 1 || g.w < 1 || g.h > INT32_MAX / 4 || g.w > INT32_MAX / 4)
      throw shape_error("simclr: augment::draw_view_params: the view comes out " +
                        std::to_string(g.h) + "×" + std::to_string(g.w));
    p.in_h = static_cast<std::int32_t>(h);
    p.in_w = static_cast<std::int32_t>(w);
    p.channels = static_cast<std::int32_t>(channels);
    p.out_h = static_cast<std::int32_t>(g.h);
    p.out_w = static_cast<std::int32_t>(g.w);
    p.scratch = g.scratch;
    return p;
  }
}

/// The 2N view parameters of a two-view batch of N images of size h × w × channels, in
/// two_views' layout and with its keys: entry v·N + i is view v of image i, drawn from
/// stream(view_key(at, sample_indices[i] or batch_index·N + i, v)) with the policy's
/// for_batch(batch_view_key(at, v)) copy — the same numbers as augment::two_views on the CPU.
/// Returns std::vector<view_params<Policy>>.
template <class Policy>
[[nodiscard]] auto draw_two_views_params(const Policy& policy, index_t n, index_t h, index_t w,
                                         index_t channels, const batch_position& at,
                                         std::span<const std::uint64_t> sample_indices = {}) {
  if constexpr (detail::expect_device_policy<Policy>()) {
    if (n < 1) throw shape_error("simclr: augment::two_views: the batch is empty");
    if (!sample_indices.empty() && static_cast<index_t>(sample_indices.size()) != n)
      throw shape_error("simclr: augment::two_views: " + std::to_string(sample_indices.size()) +
                        " sample indices for " + std::to_string(n) + " images");
    const Policy views[2] = {detail::for_batch(policy, batch_view_key(at, 0)),
                             detail::for_batch(policy, batch_view_key(at, 1))};
    std::vector<view_params<Policy>> out(static_cast<std::size_t>(2 * n));
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
}

}  // namespace simclr::augment
