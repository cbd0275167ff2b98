// simclr::nn::layer: the concept every layer (built-in or user-written) satisfies, stated in
// <simclr/concepts.hpp> with the others and named here too.
#pragma once

#include <simclr/concepts.hpp>

namespace simclr::nn {

/// A layer with backpropagation: forward, backward -> dx, visit_state (simclr::layer).
using simclr::layer;

}  // namespace simclr::nn
