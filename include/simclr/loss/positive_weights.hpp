// simclr::loss::detail::positive_pair_weights: DCLW's weights of the positive pairs (host code
// shared by the CPU and the CUDA NT-Xent kernels).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

namespace simclr::loss::detail {

/// DCLW's weights of the N positive pairs of a batch and the extra gradient they cause.
///
/// With c_j = cos(z_j, z_{j+N}) the cosine of pair j, s = softmax(c/σ) over the N pairs and
///   w_j = 2 − N·s_j
/// (Yeh et al., "Decoupled Contrastive Learning", ECCV 2022: pairs that already agree weigh
/// less), the positive terms of the anchors handled are −(1/(2Nτ)) Σ_j count_j w_j c_j, where
/// count_j ∈ {0, 1, 2} is how many of pair j's two rows are anchors. Their derivative with
/// respect to c_j has the direct part −count_j w_j/(2Nτ) — the kernels' usual positive entry,
/// scaled by w_j — and, because every w depends on every c,
///   x_j/τ,  x_j = s_j·(count_j c_j − Σ_k count_k c_k s_k) / (2σ),
/// which the kernels add as ∂/∂u_j += (x_j/τ) u_{j+N} and ∂/∂u_{j+N} += (x_j/τ) u_j. The weights
/// carry their gradient, as in the paper's reference code (no detach).
struct positive_pair_weights {
  std::vector<double> weight;  ///< w_j, N entries
  std::vector<double> extra;   ///< x_j, N entries
};

/// The weights from the pairs' cosines and anchor counts (both N entries) and σ > 0.
inline positive_pair_weights dclw_weights(std::span<const double> cosines,
                                          std::span<const int> counts, double sigma) {
  const std::size_t n = cosines.size();
  positive_pair_weights out;
  out.weight.resize(n);
  out.extra.resize(n);
  if (n == 0) return out;
  const double mx = *std::max_element(cosines.begin(), cosines.end()) / sigma;
  std::vector<double> s(n);
  double total = 0.0;
  for (std::size_t j = 0; j < n; ++j) {
    s[j] = std::exp(cosines[j] / sigma - mx);
    total += s[j];
  }
  double weighted = 0.0;  // Σ_k count_k c_k s_k
  for (std::size_t j = 0; j < n; ++j) {
    s[j] /= total;
    weighted += static_cast<double>(counts[j]) * cosines[j] * s[j];
  }
  for (std::size_t j = 0; j < n; ++j) {
    out.weight[j] = 2.0 - static_cast<double>(n) * s[j];
    out.extra[j] = s[j] * (static_cast<double>(counts[j]) * cosines[j] - weighted) / (2.0 * sigma);
  }
  return out;
}

}  // namespace simclr::loss::detail
