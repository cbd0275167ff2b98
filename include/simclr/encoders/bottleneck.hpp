// simclr::encoders::bottleneck: the 1×1–3×3–1×1 residual block of ResNet-50 (stride on the 3×3).
#pragma once

#include <simclr/encoders/residual_block.hpp>

namespace simclr::encoders {

/// relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)) with conv1 1×1
/// (in → planes), conv2 3×3 with the stride (torchvision "v1.5"), conv3 1×1 (planes → 4·planes).
/// A residual_block with that chain. State names follow torchvision: conv1..3, bn1..3,
/// downsample.0, downsample.1.
template <class T = float, backend Backend = cpu_t>
class bottleneck : public residual_block<T, Backend> {
 public:
  static constexpr index_t expansion = 4;

  bottleneck(index_t in, index_t planes, index_t stride, bool zero_init_last_bn)
      : residual_block<T, Backend>("bottleneck", in,
                                   {{planes, 1, 1}, {planes, 3, stride}, {planes * expansion, 1, 1}},
                                   zero_init_last_bn) {}
};

}  // namespace simclr::encoders
