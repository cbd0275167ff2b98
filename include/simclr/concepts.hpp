// Every customization point of simclr, stated once as a concept with its contract: this file
// is the whole contract between the library and a user's types.
//
// A user extends simclr by writing a plain struct with the members a concept names (no base
// class, no registration). A type that satisfies a concept works everywhere that concept is
// accepted: every entry point (model, train::fit, the loader, checkpoints, fine-tuning) asks
// for exactly these concepts and nothing more, and reports a mistake at the user's line with
// the concept's name (docs/design.md, "Concepts").
//
// The ladder:
//   tensor_like                           tensors and views (ops take either)
//   layer                                 forward, backward -> dx, visit_state (nn::sequential)
//   module                                scalar_type, backend_type, visit_state (checkpoints, weights)
//     encoder         : module            forward, backward, output_dim, parameters
//     projection_head : module            forward, backward -> dh, input_dim, output_dim, parameters
//     trainable_model : module            forward_backward(views) -> step_metrics, parameters (fit)
//   optimizer                             step(params, lr)
//     checkpointable_optimizer : optimizer  bind(params), state() (fit, checkpoints)
//   contrastive_loss                      l(z) -> {value, dz}
//   prediction_loss                       l(p, target) -> {value, dp}   (BYOL)
//   augmentation                          a(image, rng) -> image
//     device_augmentation : augmentation  params, a.draw(geometry, rng), host/device A::apply (GPU views)
//   image_source                          size(), image(i) -> (H, W, C) 8-bit image (the loader)
//   distributed::communicator             rank, size, all_reduce_sum, all_gather, reduce_scatter_sum,
//                                         broadcast, barrier, all_reduce_sum_async (distributed runs)
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>

#include <simclr/augment/device_op.hpp>
#include <simclr/augment/image.hpp>
#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/optim/state.hpp>
#include <simclr/parameter.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/step_metrics.hpp>
#include <simclr/tensor.hpp>

namespace simclr {

// `backend` (a tag type) is stated in <simclr/backend/tags.hpp>, the ground floor.

/// Anything that is or owns a view: tensors and tensor_views (as_view(x) gives the view).
template <class X>
concept tensor_like = requires(X& x) {
  typename std::remove_cvref_t<X>::value_type;
  typename std::remove_cvref_t<X>::backend_type;
  { as_view(x) };
};

/// The scalar type and backend a module computes in.
template <class M>
using scalar_of = typename M::scalar_type;
template <class M>
using backend_of = typename M::backend_type;
/// The tensor type a module takes and returns.
template <class M>
using tensor_of = tensor<scalar_of<M>, backend_of<M>>;

/// A and B compute in the same scalar type / on the same backend (how the model and fit report
/// a mismatch between their parts).
template <class A, class B>
concept same_scalar_as = std::same_as<scalar_of<A>, scalar_of<B>>;
template <class A, class B>
concept same_backend_as = std::same_as<backend_of<A>, backend_of<B>>;

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

namespace augment::detail {
/// An op whose host/device pass works on the view in place: A::apply(exec, params, view).
template <class A>
concept device_view_op = requires(const typename A::params& p, const view_buffer& v) {
  A::apply(serial_executor{}, p, v);
};
/// An op whose host/device pass makes the view from the source image (a crop):
/// A::apply(exec, params, source, view). Only the first op of a policy may be one.
template <class A>
concept device_source_op =
    requires(const typename A::params& p, const u8_hwc_source& u8, const f32_chw_source& f32,
             const view_buffer& v) {
      A::apply(serial_executor{}, p, u8, v);
      A::apply(serial_executor{}, p, f32, v);
    };
}  // namespace augment::detail

/// An augmentation that also runs on the device (augment::two_views for cuda_t tensors), with
/// the same random draws and the same arithmetic as on the CPU:
///   typename A::params                   one view's draws, trivially copyable (sent as bytes)
///   a.draw(geometry, rng) -> A::params   draws them from `rng` exactly as a(image, rng) does
///                                        (a crop also sets geometry.h / w; an op that needs
///                                        scratch raises geometry.scratch)
///   A::apply(exec, params, view)         static, SIMCLR_HOST_DEVICE: the op on a view in place,
///                                        its loops through exec.for_each / sum / sync; or, for a
///                                        crop, A::apply(exec, params, source, view)
/// The built-in ops, random_apply and compose of them are device augmentations; a crop may only
/// be the policy's first op (compose<crop, …> is one, compose<flip, crop> is not). Each op's
/// CPU call is `apply(draw(...), image)` as well, so the two paths cannot drift apart
/// (docs/augmentations.md, "Ops on the device").
template <class A>
concept device_augmentation =
    augmentation<A> && requires { typename A::params; } &&
    std::is_trivially_copyable_v<typename A::params> &&
    requires(const A& a, augment::view_geometry& g, random::stream& rng) {
      { a.draw(g, rng) } -> std::same_as<typename A::params>;
    } && (augment::detail::device_view_op<A> || augment::detail::device_source_op<A>);

/// A multi-crop policy (augment::multi_crop is one): two global views by one augmentation and
/// `local_crops()` small crops per image by another.
///   p.global_policy() -> an augmentation     the two global views (views 0 and 1)
///   p.local_policy()  -> an augmentation     the small crops (views 2, 3, …)
///   p.local_crops()   -> index_t             how many small crops per image (≥ 0)
template <class P>
concept multi_crop_policy =
    std::copy_constructible<P> && augmentation<typename P::global_type> &&
    augmentation<typename P::local_type> && requires(const P& p) {
      { p.global_policy() } -> std::convertible_to<const typename P::global_type&>;
      { p.local_policy() } -> std::convertible_to<const typename P::local_type&>;
      { p.local_crops() } -> std::convertible_to<index_t>;
    };

/// What train::fit and the loader take to make a batch's views: a two-view augmentation, or a
/// multi-crop policy (the model then gets the small crops as well).
template <class P>
concept view_policy = augmentation<P> || multi_crop_policy<P>;

/// A data set the loader can read: `size()` images, `image(i)` an (H, W, C) 8-bit image.
/// data::dataset is one; so is any struct with these two members (tests/support/toy_data.hpp).
template <class S>
concept image_source = requires(const S& s, index_t i) {
  { s.size() } -> std::convertible_to<index_t>;
  { s.image(i) } -> std::convertible_to<augment::image_u8>;
};

/// A module: anything with state that simclr can save, load, broadcast and copy.
///   m.visit_state(visitor, prefix)      calls visitor once per parameter, buffer and counter,
///                                       named prefix.name (torchvision's state_dict names)
/// Scalar type and backend are the nested `scalar_type` and `backend_type`. Checkpoints,
/// io::save_weights / load_weights and the optimizer's parameter list all come from
/// visit_state (nn::parameters_of), so a module without state reports nothing.
template <class M>
concept module =
    requires {
      typename M::scalar_type;
      typename M::backend_type;
    } && backend<backend_of<M>> &&
    requires(M& m, const nn::state_visitor<scalar_of<M>, backend_of<M>>& f,
             const std::string& prefix) { m.visit_state(f, prefix); };

/// A layer with backpropagation (nn::sequential and the gradient checker take it as is):
///   l.forward(x, mode) -> tensor          train mode keeps what backward needs
///   l.backward(dy) -> tensor              dx; accumulates the parameter gradients (+=)
///   l.visit_state(visitor, prefix)        reports every parameter/buffer under prefix.name
template <class L>
concept layer = module<L> && requires(L& l, const tensor_of<L>& x, mode m) {
  { l.forward(x, m) } -> std::same_as<tensor_of<L>>;
  { l.backward(x) } -> std::same_as<tensor_of<L>>;
};

/// An encoder f: a batch of images to representations h.
///   e.forward(x, mode) -> tensor_of<E>     (B, C, H, W) -> (B, output_dim())
///   e.backward(dh)                          dh (B, output_dim()); accumulates parameter grads
///                                           of the last train-mode forward (may return dx)
///   e.output_dim() -> index_t               the width of h
///   e.parameters() -> parameter_list        every trainable tensor with its role
///   e.visit_state(visitor, prefix)          (module) parameters, BN statistics, counters
/// Scalar type and backend are the nested `scalar_type` and `backend_type`.
template <class E>
concept encoder = module<E> &&
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
///   g.visit_state(visitor, prefix)          (module)
template <class G>
concept projection_head = module<G> &&
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

/// A loss between predictions and targets (BYOL's regression of one view's target network
/// output from the other view's online prediction):
///   l(p, t) -> {value, dp}
/// p and t are (2N, D) with rows i and i + N the two views of image i; which rows the loss
/// pairs is the loss's own (loss::normalized_mse swaps the halves). The targets come from a
/// momentum network and get no gradient: dp (same shape as p) is ∂value/∂p.
template <class L, class T = float, class B = cpu_t>
concept prediction_loss =
    backend<B> && requires(L& l, const tensor<T, B>& p, const tensor<T, B>& t) {
      { l(p, t).value } -> std::convertible_to<double>;
      { l(p, t).dp } -> std::convertible_to<const tensor<T, B>&>;
    };

/// An optimizer: updates parameters in place from their gradients.
///   o.step(params, lr)
/// `params` is the same list, in the same order, at every step (state such as momentum is kept
/// per position); `lr` is this step's learning rate from the schedule. The optimizer decides by
/// `parameter::role` which parameters take weight decay. It does not zero the gradients.
template <class O, class T = float, class B = cpu_t>
concept optimizer = backend<B> && requires(O& o, std::span<const parameter<T, B>> params,
                                           double lr) { o.step(params, lr); };

/// An optimizer whose state can be saved and restored (train::fit's checkpoints and resume):
///   o.bind(params)        allocates the state for this parameter list (idempotent)
///   o.state()             names every state tensor and the step counter (optim::optimizer_state)
/// optim::sgd, optim::lars and optim::adamw are; optim::detail::slot_store does the bookkeeping.
template <class O, class T = float, class B = cpu_t>
concept checkpointable_optimizer =
    optimizer<O, T, B> && requires(O& o, std::span<const parameter<T, B>> params) {
      o.bind(params);
      { o.state() } -> std::same_as<optim::optimizer_state<T, B>>;
    };

/// A model train::fit can train: a module that does one step's forward, loss and backward.
///   m.forward_backward(views) -> step_metrics   views (2N, C, H, W), rows i and i + N the two
///                                               views of image i; zeroes, then fills the grads
///   m.parameters() -> parameter_list            what the optimizer updates, in a fixed order
///   m.visit_state(visitor, prefix)              (module) what a checkpoint holds
/// Optional: m.after_step(step, total_steps), called after each optimizer step (a method with
/// a momentum target updates it there). simclr::model is one; so is a user's method.
template <class M>
concept trainable_model = module<M> && requires(M& m, const tensor_of<M>& views) {
      { m.forward_backward(views) } -> std::convertible_to<step_metrics>;
      { m.parameters() } -> parameter_list<scalar_of<M>, backend_of<M>>;
    };

/// A trainable_model that also trains on multi-crop batches (simclr::model is one):
///   m.forward_backward(views, local_views) -> step_metrics   views (2N, C, H, W) the global
///                         views as above; local_views (mN, C, h, w), row j·N + i the small crop
///                         j of image i (m ≥ 1)
template <class M>
concept multi_crop_model =
    trainable_model<M> && requires(M& m, const tensor_of<M>& views, const tensor_of<M>& local) {
      { m.forward_backward(views, local) } -> std::convertible_to<step_metrics>;
    };

}  // namespace simclr

namespace simclr::distributed {

/// A collective started without waiting (e.g. a gradient bucket's all-reduce overlapped with
/// the rest of backward): wait() returns once the data is in place; a second wait() is a no-op.
template <class P>
concept pending_collective = requires(P& p) { p.wait(); };

/// The collectives of a group of `size()` processes, this one being `rank()`. Every process of
/// the group calls the same collectives in the same order with the same element counts (a
/// mismatch is an error of the underlying engine, or a hang it cannot see).
/// Buffers are contiguous spans of float, double or std::int64_t in the memory the model
/// states (host memory for local_communicator and mpi_communicator).
///   c.all_reduce_sum(x)              x ← Σ_ranks x, in place
///   c.all_gather(send, recv)         recv = [send of rank 0, send of rank 1, …]; recv.size() =
///                                    size()·send.size()
///   c.reduce_scatter_sum(send, recv) recv = block rank() of Σ_ranks send; send.size() =
///                                    size()·recv.size() (the adjoint of all_gather)
///   c.broadcast(x, root)             x ← root's x
///   c.barrier()
///   c.all_reduce_sum_async(x)        starts the all-reduce; the result is in x after wait()
/// Sizes that do not fit are a value_error before anything is sent; a failure of the engine is
/// a distributed_error naming the rank and the collective.
template <class C>
concept communicator =
    requires(C& c, const C& cc, std::span<float> f, std::span<const float> cf,
             std::span<double> d, std::span<const double> cd, std::span<std::int64_t> i, int root) {
      { cc.rank() } -> std::convertible_to<int>;
      { cc.size() } -> std::convertible_to<int>;
      c.all_reduce_sum(f);
      c.all_reduce_sum(d);
      c.all_reduce_sum(i);
      c.all_gather(cf, f);
      c.all_gather(cd, d);
      c.reduce_scatter_sum(cf, f);
      c.reduce_scatter_sum(cd, d);
      c.broadcast(f, root);
      c.broadcast(d, root);
      c.broadcast(i, root);
      c.barrier();
      { c.all_reduce_sum_async(f) } -> pending_collective;
      { c.all_reduce_sum_async(d) } -> pending_collective;
    };

}  // namespace simclr::distributed
