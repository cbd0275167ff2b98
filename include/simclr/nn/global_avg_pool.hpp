// simclr::nn::global_avg_pool: (N, C, H, W) → (N, C), the mean of each feature map.
#pragma once

#include <simclr/nn/adaptive_avg_pool.hpp>

namespace simclr::nn {

/// Global average pooling: adaptive_avg_pool with one cell per plane. The ResNet representation
/// h is this layer's output.
template <class T = float, backend Backend = cpu_t>
class global_avg_pool : public adaptive_avg_pool<T, Backend> {
 public:
  global_avg_pool() : adaptive_avg_pool<T, Backend>(1) {}
};

}  // namespace simclr::nn
