// simclr::augment::compose: augmentations applied in order (a fold, not recursion).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#include <simclr/augment/image.hpp>
#include <simclr/concepts.hpp>
#include <simclr/random/stream.hpp>

namespace simclr::augment {

namespace detail {

/// Runs `op` on `img`: in place through `op.apply(img, rng)` when the op offers it (the
/// built-in ops do, saving a copy per op), else `img = op(img, rng)` (any augmentation).
template <class Op>
void apply_op(const Op& op, image_f32& img, random::stream& rng) {
  if constexpr (requires { op.apply(img, rng); }) {
    op.apply(img, rng);
  } else {
    img = op(std::as_const(img), rng);
  }
}

/// `op.for_batch(k)` when the op has batch-level parameters (TF blur σ), else a copy of `op`.
template <class Op>
[[nodiscard]] Op for_batch(const Op& op, const random::key& k) {
  if constexpr (requires {
                  { op.for_batch(k) } -> std::same_as<Op>;
                }) {
    return op.for_batch(k);
  } else {
    return op;
  }
}

/// A child stream for the next op: its key is drawn from `rng`, so how many numbers one op
/// consumes never shifts the numbers another op sees.
inline random::stream child_stream(random::stream& rng) {
  const std::uint32_t a = rng.next_u32();
  const std::uint32_t b = rng.next_u32();
  return random::stream(random::key(random::key2{{a, b}}));
}

}  // namespace detail

/// Applies `Ops...` in order, each with its own child stream drawn from the caller's stream.
/// A fold expression over a tuple: one flat type whatever the number of ops, so errors and
/// compile times stay small. `compose(a, b, c)` deduces the type.
template <class... Ops>
struct compose {
  static_assert((augmentation<Ops> && ...),
                "simclr: augment::compose: every op must satisfy simclr::augmentation — give it "
                "`tensor<float, cpu_t> operator()(const tensor<float, cpu_t>&, random::stream&) "
                "const` (see docs/augmentations.md)");

  std::tuple<Ops...> ops;  ///< the ops, applied first to last

  explicit compose(Ops... o) : ops(std::move(o)...) {}

  /// Applies every op to `img` in place (a left-to-right fold).
  void apply(image_f32& img, random::stream& rng) const {
    std::apply(
        [&](const Ops&... op) {
          const auto run = [&](const auto& one) {
            random::stream child = detail::child_stream(rng);
            detail::apply_op(one, img, child);
          };
          (run(op), ...);
        },
        ops);
  }

  /// The first op reads `img` through its const call (a crop never copies the full-size input);
  /// the others then work in place. Same streams, same result as `apply` on a copy.
  [[nodiscard]] image_f32 operator()(const image_f32& img, random::stream& rng) const {
    if constexpr (sizeof...(Ops) == 0) {
      return img;
    } else {
      return std::apply(
          [&](const auto& first, const auto&... rest) {
            random::stream c0 = detail::child_stream(rng);
            image_f32 out = first(img, c0);
            [[maybe_unused]] const auto run = [&](const auto& one) {
              random::stream child = detail::child_stream(rng);
              detail::apply_op(one, out, child);
            };
            (run(rest), ...);
            return out;
          },
          ops);
    }
  }

  /// A copy whose ops have their batch-level parameters fixed from `batch_key` (op i uses
  /// batch_key.fold_in(i)); see random_gaussian_blur::for_batch.
  [[nodiscard]] compose for_batch(const random::key& batch_key) const {
    return for_batch_impl(batch_key, std::index_sequence_for<Ops...>{});
  }

 private:
  template <std::size_t... I>
  [[nodiscard]] compose for_batch_impl(const random::key& k, std::index_sequence<I...>) const {
    return compose(detail::for_batch(std::get<I>(ops), k.fold_in(I))...);
  }
};

}  // namespace simclr::augment
