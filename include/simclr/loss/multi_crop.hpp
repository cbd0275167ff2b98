// simclr::loss::multi_crop_pairs: any contrastive loss over multi-crop embeddings — the two
// global views against each other and every small crop against each global view.
#pragma once

#include <string>
#include <vector>

#include <simclr/backend/memory.hpp>
#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/optim/cpu/update.hpp>  // the CPU axpy
#include <simclr/optim/kernels.hpp>
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// The value and gradients of multi_crop_pairs.
template <class T, class B>
struct multi_crop_result {
  T value{};                ///< (1/P) Σ over the P = 1 + 2m pairs of the pair's loss
  tensor<T, B> dz_global;   ///< ∂value/∂z_global, (2N, D)
  tensor<T, B> dz_local;    ///< ∂value/∂z_local, (mN, D); empty when m = 0
  double top1_accuracy = -1.0;  ///< mean over the pairs of the loss's top-1 (−1: not reported)
  double mean_entropy = -1.0;   ///< mean over the pairs of the loss's entropy (−1: not reported)
  bool near_collapse = false;   ///< the global pair's flag
  index_t pairs = 0;            ///< P
};

/// Multi-crop with a two-view contrastive loss (docs/training.md, "Multi-crop"). `z_global` is
/// (2N, D), rows i and i + N image i's global views g₀, g₁; `z_local` is (mN, D), row j·N + i
/// image i's small crop ℓⱼ (empty or 0 rows: two views only). The loss is applied to P = 1 + 2m
/// two-view batches — (g₀, g₁), and (g_v, ℓⱼ) for v = 0, 1 and every j, each the (2N, D) batch
/// [g_v rows; ℓⱼ rows] so the other images' views of that pair are the negatives — and
///   value = (1/P) Σ_pairs loss(pair),
/// every crop contrasted against the global views, never two small crops against each other
/// (SwAV's multi-crop). With m = 0 it is loss(z_global) exactly. Runs on the tensors' backend;
/// the pairs are evaluated in a fixed order, so the result is deterministic.
template <class Loss, class T, class B>
  requires contrastive_loss<Loss, T, B>
[[nodiscard]] multi_crop_result<T, B> multi_crop_pairs(Loss& loss, const tensor<T, B>& z_global,
                                                       const tensor<T, B>& z_local) {
  if (z_global.rank() != 2 || z_global.extent(0) < 2 || z_global.extent(0) % 2 != 0)
    throw shape_error("simclr: loss::multi_crop_pairs: z_global has shape " +
                      z_global.shape().to_string() + ", expected (2N, D) with N ≥ 1");
  const index_t n = z_global.extent(0) / 2, d = z_global.extent(1);
  const bool has_local = z_local.numel() > 0;
  if (has_local && (z_local.rank() != 2 || z_local.extent(1) != d || z_local.extent(0) % n != 0))
    throw shape_error("simclr: loss::multi_crop_pairs: z_local has shape " +
                      z_local.shape().to_string() + ", expected (m·" + std::to_string(n) + ", " +
                      std::to_string(d) + ") for the " + std::to_string(n) + " images of z_global");
  const index_t m = has_local ? z_local.extent(0) / n : 0;
  const index_t pairs = 1 + 2 * m;
  const T w = T(1) / static_cast<T>(pairs);
  using kernel = optim::update_kernel<B>;
  const std::size_t block = static_cast<std::size_t>(n * d) * sizeof(T);

  multi_crop_result<T, B> out;
  out.pairs = pairs;
  double top1 = 0.0, entropy = 0.0, value = 0.0;
  bool has_top1 = false, has_entropy = false;
  const auto observe = [&](const auto& r) {
    value += static_cast<double>(r.value);
    if constexpr (requires { r.top1_accuracy; }) {
      has_top1 = true;
      top1 += static_cast<double>(r.top1_accuracy);
    }
    if constexpr (requires { r.mean_entropy; }) {
      has_entropy = true;
      entropy += static_cast<double>(r.mean_entropy);
    }
  };

  {  // (g₀, g₁): the two-view loss itself
    auto r = loss(z_global);
    observe(r);
    if constexpr (requires { r.near_collapse; }) out.near_collapse = r.near_collapse;
    const tensor<T, B>& dz = r.dz;
    out.dz_global = tensor<T, B>(z_global.shape());
    kernel::axpy(out.dz_global.data(), dz.data(), dz.numel(), w);
  }
  if (m > 0) {
    out.dz_local = tensor<T, B>(z_local.shape());
    tensor<T, B> pair(shape{2 * n, d}, uninitialized);
    for (index_t j = 0; j < m; ++j) {
      for (index_t v = 0; v < 2; ++v) {
        memory<B>::copy(pair.data(), z_global.data() + v * n * d, block);
        memory<B>::copy(pair.data() + n * d, z_local.data() + j * n * d, block);
        auto r = loss(pair);
        observe(r);
        const tensor<T, B>& dz = r.dz;
        kernel::axpy(out.dz_global.data() + v * n * d, dz.data(), n * d, w);
        kernel::axpy(out.dz_local.data() + j * n * d, dz.data() + n * d, n * d, w);
      }
    }
  }
  out.value = static_cast<T>(value / static_cast<double>(pairs));
  if (has_top1) out.top1_accuracy = top1 / static_cast<double>(pairs);
  if (has_entropy) out.mean_entropy = entropy / static_cast<double>(pairs);
  return out;
}

}  // namespace simclr::loss
