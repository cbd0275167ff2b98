// simclr::augment::random_apply: applies an augmentation with probability p.
#pragma once

#include <cstdint>
#include <utility>

#include <simclr/augment/compose.hpp>
#include <simclr/augment/device_op.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/augment/semantics.hpp>
#include <simclr/concepts.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

/// Applies `op` with probability p, else leaves the image (torchvision's RandomApply; SimCLR's
/// random_apply). One Bernoulli draw from the stream, then the op draws from the same stream.
/// `random_apply(0.8, color_jitter::simclr(1.0f))` deduces the type.
template <class Op>
struct random_apply {
  static_assert(augmentation<Op>,
                "simclr: augment::random_apply: the op must satisfy simclr::augmentation — give it "
                "`tensor<float, cpu_t> operator()(const tensor<float, cpu_t>&, random::stream&) "
                "const` (see docs/augmentations.md)");

  double p = 1.0;  ///< probability of applying the op
  Op op;           ///< the op

  /// Throws value_error unless 0 ≤ p ≤ 1.
  random_apply(double probability, Op o) : p(probability), op(std::move(o)) {
    detail::check_probability(p, "random_apply p");
  }

  void apply(image_f32& img, random::stream& rng) const {
    if (rng.bernoulli(p)) detail::apply_op(op, img, rng);
  }
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    image_f32 out = img;
    apply(out, rng);
    return out;
  }

  /// One view's draw: whether the op ran, and its own draw when it did.
  struct params {
    std::uint8_t on = 0;
    detail::params_of_t<Op> op{};
  };

  /// One Bernoulli draw, then the op's draw from the same stream (device_augmentation).
  [[nodiscard]] params draw(view_geometry& g, random::stream& rng) const
    requires device_augmentation<Op>
  {
    params q;
    q.on = rng.bernoulli(p) ? 1 : 0;
    if (q.on) q.op = op.draw(g, rng);
    return q;
  }
  /// The host/device pass: the op's, when it was drawn (an op that works in place; a crop
  /// applied with a probability would change the view's size, so it cannot be one).
  template <class Exec>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const view_buffer& v)
    requires augment::detail::device_view_op<Op>
  {
    if (q.on) Op::apply(exec, q.op, v);
  }

  /// The same p around the op's batch-level copy (see compose::for_batch).
  [[nodiscard]] random_apply for_batch(const random::key& batch_key) const {
    return random_apply(p, detail::for_batch(op, batch_key));
  }
};

}  // namespace simclr::augment
