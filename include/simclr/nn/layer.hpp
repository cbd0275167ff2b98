// simclr::nn::layer: the concept every layer (built-in or user-written) satisfies.
#pragma once

#include <concepts>
#include <string>

#include <simclr/backend/tags.hpp>
#include <simclr/mode.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::nn {

/// A layer with backpropagation:
///   l.forward(x, mode) -> tensor          train mode keeps what backward needs
///   l.backward(dy) -> tensor              dx; accumulates the parameter gradients (+=)
///   l.visit_state(visitor, prefix)        reports every parameter/buffer under prefix.name
/// Scalar type and backend are the nested `scalar_type` and `backend_type`. A user layer is a
/// plain struct with these members; nn::sequential and the gradient checker take it as is.
template <class L>
concept layer =
    requires {
      typename L::scalar_type;
      typename L::backend_type;
    } && backend<typename L::backend_type> &&
    requires(L& l, const tensor<typename L::scalar_type, typename L::backend_type>& x, mode m,
             const state_visitor<typename L::scalar_type, typename L::backend_type>& f,
             const std::string& prefix) {
      {
        l.forward(x, m)
      } -> std::same_as<tensor<typename L::scalar_type, typename L::backend_type>>;
      {
        l.backward(x)
      } -> std::same_as<tensor<typename L::scalar_type, typename L::backend_type>>;
      l.visit_state(f, prefix);
    };

}  // namespace simclr::nn
