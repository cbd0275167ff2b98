// Every customization point of simclr, stated once as a concept with its contract.
//
// A user extends simclr by writing a plain struct with the members a concept names (no base
// class, no registration). Entry points (the model, the trainer) are constrained by these
// concepts, so a mistake is reported at the user's line with the concept's name.
#pragma once

#include <concepts>
#include <ranges>
#include <span>
#include <type_traits>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/mode.hpp>
#include <simclr/parameter.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>

namespace simclr {

// `backend` (a tag type) is stated in <simclr/backend/tags.hpp>.

/// The scalar type and backend a module computes in.
template <class M>
using scalar_of = typename M::scalar_type;
template <class M>
using backend_of = typename M::backend_type;
/// The tensor type a module takes and returns.
template <class M>
using tensor_of = tensor<scalar_of<M>, backend_of<M>>;

/// A range of parameter handles of scalar T on backend B (e.g. std::vector<parameter<T, B>>).
template <class R, class T, class B>
concept parameter_list = std::ranges::input_range<R> &&
                         std::same_as<std::ranges::range_value_t<R>, parameter<T, B>>;

/// An augmentation: one image in, one augmented image out.
///   a(image, rng) -> tensor<float, cpu_t>
/// `image` is a (C, H, W) float image with values in [0, 1]; the result is a new (C', H', W')
/// image in [0, 1] (a crop may change H and W). All randomness comes from `rng`, a stream keyed
/// by (seed, epoch, sample, view), so the same key gives the same output on any thread. The
/// call is const: one augmentation object serves many threads at once.
template <class A>
concept augmentation =
    std::copy_constructible<A> &&
    requires(const A& a, const tensor<float, cpu_t>& image, random::stream& rng) {
      { a(image, rng) } -> std::same_as<tensor<float, cpu_t>>;
    };

/// An encoder f: a batch of images to representations h.
///   e.forward(x, mode) -> tensor_of<E>     (B, C, H, W) -> (B, output_dim())
///   e.backward(dh)                          dh (B, output_dim()); accumulates parameter grads
///                                           of the last train-mode forward (may return dx)
///   e.output_dim() -> index_t               the width of h
///   e.parameters() -> parameter_list        every trainable tensor with its role
/// Scalar type and backend are the nested `scalar_type` and `backend_type`.
template <class E>
concept encoder =
    requires {
      typename E::scalar_type;
      typename E::backend_type;
    } && backend<backend_of<E>> &&
    requires(E& e, const E& ce, const tensor_of<E>& x, mode m) {
      { e.forward(x, m) } -> std::same_as<tensor_of<E>>;
      e.backward(x);
      { ce.output_dim() } -> std::convertible_to<index_t>;
      { e.parameters() } -> parameter_list<scalar_of<E>, backend_of<E>>;
    };

/// A projection head g: representations h to embeddings z (discarded after pre-training).
///   g.forward(h, mode) -> tensor_of<G>     (B, input_dim()) -> (B, output_dim())
///   g.backward(dz) -> tensor_of<G>          dz (B, output_dim()) -> dh (B, input_dim());
///                                           accumulates parameter grads
///   g.input_dim(), g.output_dim() -> index_t
///   g.parameters() -> parameter_list        (empty for the identity head)
template <class G>
concept projection_head =
    requires {
      typename G::scalar_type;
      typename G::backend_type;
    } && backend<backend_of<G>> &&
    requires(G& g, const G& cg, const tensor_of<G>& h, mode m) {
      { g.forward(h, m) } -> std::same_as<tensor_of<G>>;
      { g.backward(h) } -> std::same_as<tensor_of<G>>;
      { cg.input_dim() } -> std::convertible_to<index_t>;
      { cg.output_dim() } -> std::convertible_to<index_t>;
      { g.parameters() } -> parameter_list<scalar_of<G>, backend_of<G>>;
    };

/// What a contrastive loss returns: at least the scalar `value` and the gradient `dz` of the
/// value with respect to every row of z (same shape as z). Losses may add monitoring fields.
template <class R, class T, class B>
concept loss_output = requires(const R& r) {
  { r.value } -> std::convertible_to<double>;
  { r.dz } -> std::convertible_to<const tensor<T, B>&>;
};

/// A contrastive loss over the whole batch of 2N embeddings:
///   l(z) -> loss_output
/// z is (2N, D); rows i and i + N are the two views of image i (a positive pair), every other
/// row is a negative. The loss sees the whole batch because terms couple all rows (NT-Xent's
/// softmax); a per-sample interface could not express it. Returns the value and dz in one call.
template <class L, class T = float, class B = cpu_t>
concept contrastive_loss = backend<B> && requires(L& l, const tensor<T, B>& z) {
  { l(z) } -> loss_output<T, B>;
};

/// An optimizer: updates parameters in place from their gradients.
///   o.step(params, lr)
/// `params` is the same list, in the same order, at every step (state such as momentum is kept
/// per position); `lr` is this step's learning rate from the schedule. The optimizer decides by
/// `parameter::role` which parameters take weight decay. It does not zero the gradients.
template <class O, class T = float, class B = cpu_t>
concept optimizer = backend<B> && requires(O& o, std::span<const parameter<T, B>> params,
                                           double lr) { o.step(params, lr); };

}  // namespace simclr
