// simclr::augment::compose: augmentations applied in order (a fold, not recursion).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include <simclr/augment/device_op.hpp>
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

/// The params of an op that has them (device_augmentation), else an empty record: compose and
/// random_apply name their params type for any ops, and offer draw / apply only when every op
/// runs on the device.
struct no_params {};
template <class Op>
struct params_of {
  using type = no_params;
};
template <class Op>
  requires requires { typename Op::params; }
struct params_of<Op> {
  using type = typename Op::params;
};
template <class Op>
using params_of_t = typename params_of<Op>::type;

/// The params of compose's ops, first to last: a trivially copyable list (head, then the rest).
template <class... P>
struct params_list {};
template <class H, class... T>
struct params_list<H, T...> {
  H head;
  params_list<T...> tail;
};

/// Ops::apply(exec, params, view) of each op in order, on its entry of a params_list.
template <class... Ops>
struct in_place_ops {
  template <class Exec, class L>
  static SIMCLR_HOST_DEVICE void run(const Exec&, const L&, const view_buffer&) {}
};
template <class F, class... R>
struct in_place_ops<F, R...> {
  template <class Exec, class L>
  static SIMCLR_HOST_DEVICE void run(const Exec& exec, const L& q, const view_buffer& v) {
    F::apply(exec, q.head, v);
    in_place_ops<R...>::run(exec, q.tail, v);
  }
};

/// A first op that makes the view from the source (a crop), then ops in place.
template <class... Ops>
struct source_then_in_place : std::false_type {};
template <class F, class... R>
  requires(device_source_op<F> && (device_view_op<R> && ...))
struct source_then_in_place<F, R...> : std::true_type {
  template <class Exec, class L, class Source>
  static SIMCLR_HOST_DEVICE void run(const Exec& exec, const L& q, const Source& src,
                                     const view_buffer& v) {
    F::apply(exec, q.head, src, v);
    in_place_ops<R...>::run(exec, q.tail, v);
  }
};

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

  /// Every op's draw, first to last, each from its own child stream as `apply` makes them.
  using params = detail::params_list<detail::params_of_t<Ops>...>;

  /// The ops' draws (device_augmentation; every op must be one).
  [[nodiscard]] params draw(view_geometry& g, random::stream& rng) const
    requires(device_augmentation<Ops> && ...)
  {
    params q;
    draw_from<0>(q, g, rng);
    return q;
  }
  /// The host/device pass of ops that all work on the view in place.
  template <class Exec>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const view_buffer& v)
    requires(augment::detail::device_view_op<Ops> && ...)
  {
    detail::in_place_ops<Ops...>::run(exec, q, v);
  }
  /// The host/device pass when the first op makes the view from the source (a crop) and the
  /// others work on it in place.
  template <class Exec, class Source>
  static SIMCLR_HOST_DEVICE void apply(const Exec& exec, const params& q, const Source& src,
                                       const view_buffer& v)
    requires(detail::source_then_in_place<Ops...>::value)
  {
    detail::source_then_in_place<Ops...>::run(exec, q, src, v);
  }

  /// A copy whose ops have their batch-level parameters fixed from `batch_key` (op i uses
  /// batch_key.fold_in(i)); see random_gaussian_blur::for_batch.
  [[nodiscard]] compose for_batch(const random::key& batch_key) const {
    return for_batch_impl(batch_key, std::index_sequence_for<Ops...>{});
  }

 private:
  template <std::size_t I, class L>
  void draw_from(L& q, view_geometry& g, random::stream& rng) const {
    if constexpr (I < sizeof...(Ops)) {
      random::stream child = detail::child_stream(rng);  // as apply
      q.head = std::get<I>(ops).draw(g, child);
      draw_from<I + 1>(q.tail, g, rng);
    }
  }
  template <std::size_t... I>
  [[nodiscard]] compose for_batch_impl(const random::key& k, std::index_sequence<I...>) const {
    return compose(detail::for_batch(std::get<I>(ops), k.fold_in(I))...);
  }
};

}  // namespace simclr::augment
