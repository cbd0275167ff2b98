// simclr::mode: whether a forward pass trains (batch statistics, caches for backward) or evaluates.
#pragma once

namespace simclr {

/// Training uses batch statistics in BatchNorm and keeps what backward needs; evaluation uses
/// running statistics and keeps nothing.
enum class mode { train, eval };

}  // namespace simclr
