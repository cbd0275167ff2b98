// simclr::encoders::basic_block: the two-3×3-conv residual block of ResNet-18/34.
#pragma once

#include <simclr/encoders/residual_block.hpp>

namespace simclr::encoders {

/// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); conv1 carries the stride, and the
/// shortcut is a 1×1 strided conv + BN ("downsample") when the shape changes. A residual_block
/// with the chain 3×3 (stride) → 3×3. State names follow torchvision: conv1, bn1, conv2, bn2,
/// downsample.0, downsample.1.
template <class T = float, backend Backend = cpu_t>
class basic_block : public residual_block<T, Backend> {
 public:
  static constexpr index_t expansion = 1;

  /// `in` input channels, `planes` output channels, `stride` of the first conv.
  basic_block(index_t in, index_t planes, index_t stride, bool zero_init_last_bn)
      : residual_block<T, Backend>("basic_block", in, {{planes, 3, stride}, {planes, 3, 1}},
                                   zero_init_last_bn) {}
};

}  // namespace simclr::encoders
