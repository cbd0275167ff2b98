// simclr::loss::margin_triplet_kernel<cuda_t>: margin triplet forward and backward on the device.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <cmath>

#include <simclr/loss/cuda/pairwise.cuh>
#include <simclr/loss/kernels.hpp>

namespace simclr::loss {

namespace cuda_detail {
/// The margin triplet terms of one anchor row (as margin_triplet_kernel<cpu_t>, same tie rules:
/// the first index wins among equal cosines).
struct margin_triplet_row {
  double margin;
  bool semi_hard;
  template <class T>
  __device__ double operator()(index_t i, index_t p, index_t n, const T* c, T* g,
                               bool& top1) const {
    const double c_pos = static_cast<double>(c[p]);
    double best_neg = -INFINITY;
    for (index_t k = 0; k < n; ++k)
      if (k != i && k != p) best_neg = fmax(best_neg, static_cast<double>(c[k]));
    top1 = c_pos > best_neg;
    if (n <= 2) return 0.0;  // no negatives
    double loss = 0.0;
    if (semi_hard) {
      index_t chosen = -1, easiest = -1;
      for (index_t k = 0; k < n; ++k) {
        if (k == i || k == p) continue;
        const double ck = static_cast<double>(c[k]);
        if (ck < c_pos && (chosen < 0 || ck > static_cast<double>(c[chosen]))) chosen = k;
        if (easiest < 0 || ck < static_cast<double>(c[easiest])) easiest = k;
      }
      const index_t k = chosen >= 0 ? chosen : easiest;
      const double h = static_cast<double>(c[k]) - c_pos + margin;
      if (h > 0) {
        loss = h;
        g[k] = T(1);
        g[p] = T(-1);
      }
    } else {
      const double w = 1.0 / static_cast<double>(n - 2);
      double pos_grad = 0.0;
      for (index_t k = 0; k < n; ++k) {
        if (k == i || k == p) continue;
        const double h = static_cast<double>(c[k]) - c_pos + margin;
        if (h > 0) {
          loss += w * h;
          g[k] = static_cast<T>(w);
          pos_grad -= w;
        }
      }
      g[p] = static_cast<T>(pos_grad);
    }
    return loss;
  }
};
}  // namespace cuda_detail

/// Same contract as margin_triplet_kernel<cpu_t>; device pointers. One thread per anchor row.
template <>
struct margin_triplet_kernel<cuda_t> {
  template <class T>
  static detail::pairwise_sums run(const T* z, index_t rows, index_t d,
                                   const margin_triplet_options& o, T* dz) {
    return cuda_detail::pairwise_loss(z, rows, d, o.norm_epsilon, o.allow_small_rows,
                                      "margin_triplet",
                                      cuda_detail::margin_triplet_row{o.margin, o.semi_hard}, dz);
  }
};

}  // namespace simclr::loss
