// simclr::augment::random_apply: applies an augmentation with probability p.
#pragma once

#include <utility>

#include <simclr/augment/compose.hpp>
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

  /// The same p around the op's batch-level copy (see compose::for_batch).
  [[nodiscard]] random_apply for_batch(const random::key& batch_key) const {
    return random_apply(p, detail::for_batch(op, batch_key));
  }
};

}  // namespace simclr::augment
