// simclr::methods::crop_pass: the second copy of an encoder and head that multi-crop's small
// crops run through in the same step as the global views (simclr::model, methods::moco).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <simclr/backend/memory.hpp>
#include <simclr/concepts.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/optim/ema.hpp>
#include <simclr/optim/kernels.hpp>
#include <simclr/parameter.hpp>
#include <simclr/tensor.hpp>

namespace simclr::methods {

/// A copy of an online encoder f and head g for a second batch in one step — the small crops
/// of augment::multi_crop, whose size differs from the global views'. Each layer keeps the
/// activations of one batch for its backward pass, so the crops need layers of their own:
///   1. forward(f, g, crops): synced to f and g's state first (after the global pass moved
///      BatchNorm's running statistics), z = g(f(crops)) in training mode, then the running
///      statistics go back to f and g — a PyTorch module called twice;
///   2. backward_into(dz, f and g's parameters): the crops' gradients added to theirs.
/// Scratch: never checkpointed (made at the first use, re-synced every step).
template <class Encoder, class Head>
class crop_pass {
 public:
  using scalar_type = scalar_of<Encoder>;
  using backend_type = backend_of<Encoder>;
  using tensor_type = tensor<scalar_type, backend_type>;

  /// z = g(f(crops)) through the copy of `f` and `g`, whose running statistics then move as if
  /// `f` and `g` had seen the crops.
  [[nodiscard]] tensor_type forward(Encoder& f, Head& g, const tensor_type& crops) {
    if (!copy_) {
      copy_.emplace(parts{f, g});
    } else {
      optim::ema_update(copy_->encoder, f, 0.0);
      optim::ema_update(copy_->head, g, 0.0);
    }
    tensor_type z = copy_->head.forward(copy_->encoder.forward(crops, mode::train), mode::train);
    copy_statistics(copy_->encoder, f);
    copy_statistics(copy_->head, g);
    return z;
  }

  /// Backward of the last forward for ∂L/∂z = `dz`, its parameter gradients added to `into`
  /// (f's then g's parameters, in visit order).
  void backward_into(const tensor_type& dz,
                     const std::vector<parameter<scalar_type, backend_type>>& into) {
    nn::zero_grad_of<scalar_type, backend_type>(*copy_);
    (void)copy_->encoder.backward(copy_->head.backward(dz));
    const auto mine = nn::parameters_of<scalar_type, backend_type>(*copy_);
    for (std::size_t k = 0; k < into.size(); ++k)
      optim::update_kernel<backend_type>::axpy(into[k].grad->data(), mine[k].grad->data(),
                                               into[k].grad->numel(), scalar_type(1));
  }

 private:
  struct parts {
    Encoder encoder;
    Head head;
    void visit_state(const nn::state_visitor<scalar_type, backend_type>& v,
                     const std::string& prefix) {
      encoder.visit_state(v, nn::join_name(prefix, "encoder"));
      head.visit_state(v, nn::join_name(prefix, "head"));
    }
  };

  /// to ← from for the buffers and counters (BatchNorm's running statistics) of two modules
  /// built alike; the parameters, equal in both, are left alone.
  template <class From, class To>
  static void copy_statistics(From& from, To& to) {
    std::vector<nn::state_ref<scalar_type, backend_type>> dst;
    to.visit_state([&](const nn::state_ref<scalar_type, backend_type>& s) { dst.push_back(s); }, "");
    std::size_t k = 0;
    from.visit_state(
        [&](const nn::state_ref<scalar_type, backend_type>& s) {
          const auto& d = dst[k++];
          if (s.kind == nn::state_kind::counter) *d.count = *s.count;
          else if (s.kind == nn::state_kind::buffer)
            memory<backend_type>::copy(d.value->data(), s.value->data(), s.value->bytes());
        },
        "");
  }

  std::optional<parts> copy_;
};

}  // namespace simclr::methods
