// simclr::nn::plane_moments: the first two moments of one (image, channel) plane of an
// activation, as BatchNorm's statistics start from them.
#pragma once

#include <vector>

namespace simclr::nn {

/// One plane of L values about a shift s taken from the plane (on the CPU its first value):
/// s, Σ(x − s) and Σ(x − s)². The deviations are of the order of the spread, so their float
/// lane sums keep full precision where Σx itself would not (values 1e4 + N(0, 1): Σx in float
/// lanes loses the variance's fifth digit); Σx = L·s + Σ(x − s).
/// A function of the plane alone: whoever computes it — BatchNorm, or the convolution that
/// wrote the plane, while it was still in cache — gets the same bits.
struct plane_moments {
  double shift = 0.0;    // s
  double rest = 0.0;     // Σ(x − s)
  double squares = 0.0;  // Σ(x − s)²
  [[nodiscard]] double sum(double l) const { return l * shift + rest; }
};

/// The moments of every plane of an (N, C, H, W) activation, in memory order (plane i·C + c),
/// from the layer that wrote it. Empty when that layer's backend computes none (CUDA): the
/// BatchNorm that reads the activation then computes them itself.
using activation_moments = std::vector<plane_moments>;

}  // namespace simclr::nn
