// simclr::augment::semantics: which reference (torchvision or TensorFlow SimCLR) an op follows.
#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include <simclr/error.hpp>

namespace simclr::augment {

/// The reference implementation an augmentation reproduces. torchvision is the default
/// everywhere; `tf` follows the official TensorFlow SimCLR code (google-research/simclr).
/// docs/augmentations.md lists where the two differ.
enum class semantics {
  torchvision,  ///< torchvision.transforms (0.14) on float tensors
  tf,           ///< google-research/simclr data_util.py on top of tf.image
};

/// Brightness in TF mode: SimCLR v2 scales (x·f, as torchvision), SimCLR v1 adds (x + δ).
enum class tf_brightness {
  multiplicative,  ///< SimCLR v2: x ← x · f, f ~ U[max(0, 1 − b), 1 + b]
  additive,        ///< SimCLR v1: x ← x + δ, δ ~ U[−b, b] (tf.image.random_brightness)
};

namespace detail {
/// Throws value_error unless 0 ≤ p ≤ 1; `what` names the parameter.
inline void check_probability(double p, std::string_view what) {
  if (!(p >= 0.0 && p <= 1.0))
    throw value_error("simclr: " + std::string(what) + " is a probability, got " +
                      std::to_string(p) + ", expected a value in [0, 1]");
}
/// Throws value_error unless lo ≤ hi (both finite); `what` names the range.
inline void check_range(double lo, double hi, std::string_view what) {
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo <= hi))
    throw value_error("simclr: " + std::string(what) + " is (" + std::to_string(lo) + ", " +
                      std::to_string(hi) + "), expected finite min ≤ max");
}
}  // namespace detail

}  // namespace simclr::augment
