// simclr::loss::nt_xent_kernel<cpu_t>: blocked, symmetric NT-Xent forward and backward on the CPU.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <simclr/backend/cpu/exp.hpp>
#include <simclr/loss/cpu/block_gemm.hpp>
#include <simclr/loss/cpu/rows.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/positive_weights.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/tensor.hpp>

namespace simclr::loss {

/// CPU NT-Xent. Two algorithms, chosen from the problem alone (never from the thread count):
///
/// symmetric (the whole batch, when exp(−2/τ) cannot underflow in T: τ ≥ 2/80 in float,
/// τ ≥ 2/700 in double): with the fixed shift 1/τ (|S_ik| ≤ 1/τ since rows are unit length),
/// E = exp(S − 1/τ) is symmetric, so only the lower blocks of S are computed (half the GEMM
/// and half the exps), each block once: GEMM, exp, row and column partial sums, written once.
/// The backward uses the symmetric W = G + Gᵀ, W_ik = E_ik (a_i + a_k) − [k = p(i)]/N with
/// a_i = 1/(2N r_i), one blocked product W U built tile by tile from the stored lower blocks.
///
/// general (anchor subsets for the distributed form, and small τ): per anchor row a row-max
/// shifted log-sum-exp over the (M, 2N) similarity rows, then G U and Gᵀ U_anchors.
///
/// DCL (params.decoupled) leaves the positive out of the exponential sums (E_{i,p(i)} = 0, so
/// the backward needs no change but the positive's weight); DCLW (params.weight_sigma > 0)
/// scales each positive entry by its pair's weight and adds the weights' own gradient
/// (detail::dclw_weights).
///
/// Every task writes outputs of its own, partial sums are combined in a fixed order: results
/// are bit-identical for any number of threads.
template <>
struct nt_xent_kernel<cpu_t> {
  /// Block edge of the symmetric algorithm (depends on the batch size only).
  [[nodiscard]] static index_t block_size(index_t rows) noexcept {
    return rows <= 1024 ? 128 : 256;
  }
  /// Whether exp(S − 1/τ) stays normal in T for every |S| ≤ 1/τ.
  template <class T>
  [[nodiscard]] static bool symmetric_applies(double tau) noexcept {
    const double range = sizeof(T) >= 8 ? 700.0 : 80.0;
    return 2.0 / tau <= range;
  }

  template <class T>
  static nt_xent_sums full(const T* z, index_t rows, index_t d, const nt_xent_params& p, T* dz,
                           tensor<T, cpu_t>& workspace) {
    const auto nr = cpu_detail::normalise_rows(z, rows, d, p.norm_epsilon, p.allow_small_rows,
                                               "nt_xent");
    cpu_detail::row_matrix<T> gu(rows, d);  // (2N, D) ∂L/∂U
    std::vector<index_t> all(static_cast<std::size_t>(rows));
    for (index_t i = 0; i < rows; ++i) all[static_cast<std::size_t>(i)] = i;
    const auto pw = pair_weights(nr.u, all, p);
    nt_xent_sums s;
    if (symmetric_applies<T>(p.temperature))
      s = symmetric(nr.u, p.temperature, p.decoupled, pw, gu.data(), workspace);
    else
      s = general(nr.u, all, p.temperature, p.decoupled, pw, gu.data(), workspace);
    cpu_detail::project_rows(gu.data(), nr, static_cast<T>(p.gradient_scale), dz);
    return s;
  }

  template <class T>
  static nt_xent_sums partial(const T* gathered, index_t rows, index_t d,
                              std::span<const index_t> anchors, const nt_xent_params& p,
                              T* d_gathered, tensor<T, cpu_t>& workspace) {
    const auto nr = cpu_detail::normalise_rows(gathered, rows, d, p.norm_epsilon,
                                               p.allow_small_rows, "nt_xent");
    cpu_detail::row_matrix<T> gu(rows, d);
    const nt_xent_sums s = general(nr.u, anchors, p.temperature, p.decoupled,
                                   pair_weights(nr.u, anchors, p), gu.data(), workspace);
    cpu_detail::project_rows(gu.data(), nr, static_cast<T>(p.gradient_scale), d_gathered);
    return s;
  }

 private:
  /// y = exp(x) over n values (y may be x): float on the CPU path in use
  /// (simclr/backend/cpu/exp.hpp), double through Eigen.
  template <class T>
  static void exp_row(cpu_isa isa, const T* x, T* y, index_t n) {
    if constexpr (std::is_same_v<T, float>) {
      simclr::detail::exp_into(isa, x, y, n);
    } else {
      (void)isa;
      Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(y, n) =
          Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x, n).exp();
    }
  }

  template <class T>
  static void ensure(tensor<T, cpu_t>& ws, index_t n) {
    if (ws.numel() < n) ws = tensor<T, cpu_t>(shape{n}, uninitialized);
  }

  // ---- DCLW ----------------------------------------------------------------------------------
  /// The pairs' weights for these anchors; empty (every weight 1) unless params.weight_sigma > 0.
  template <class T>
  static detail::positive_pair_weights pair_weights(const cpu_detail::row_matrix<T>& u,
                                                    std::span<const index_t> anchors,
                                                    const nt_xent_params& p) {
    if (!(p.weight_sigma > 0.0)) return {};
    const index_t half = u.rows() / 2;
    std::vector<double> cosines(static_cast<std::size_t>(half));
    std::vector<int> counts(static_cast<std::size_t>(half), 0);
    for (index_t j = 0; j < half; ++j) {
      double c = 0.0;
      for (index_t t = 0; t < u.cols(); ++t)
        c += static_cast<double>(u(j, t)) * static_cast<double>(u(j + half, t));
      cosines[static_cast<std::size_t>(j)] = c;
    }
    for (const index_t a : anchors) ++counts[static_cast<std::size_t>(a % half)];
    return detail::dclw_weights(cosines, counts, p.weight_sigma);
  }
  /// The weight of anchor row i's positive term (1 without DCLW).
  [[nodiscard]] static double weight_of(const detail::positive_pair_weights& pw, index_t i,
                                        index_t half) noexcept {
    return pw.weight.empty() ? 1.0 : pw.weight[static_cast<std::size_t>(i % half)];
  }
  /// ∂/∂U of the weights themselves: row j += (x_j/τ) u_{j+N}, row j+N += (x_j/τ) u_j.
  template <class T>
  static void add_weight_gradient(const cpu_detail::row_matrix<T>& u,
                                  const detail::positive_pair_weights& pw, double tau, T* gu) {
    if (pw.extra.empty()) return;
    const index_t n = u.rows(), d = u.cols(), half = n / 2;
    cpu_detail::matrix_map<T> out(gu, n, d, Eigen::OuterStride<>(d));
    for (index_t j = 0; j < half; ++j) {
      const T x = static_cast<T>(pw.extra[static_cast<std::size_t>(j)] / tau);
      out.row(j) += x * u.row(j + half);
      out.row(j + half) += x * u.row(j);
    }
  }

  // ---- symmetric algorithm (whole batch) -----------------------------------------------------
  template <class T>
  static nt_xent_sums symmetric(const cpu_detail::row_matrix<T>& u, double tau, bool decoupled,
                                const detail::positive_pair_weights& pw, T* gu,
                                tensor<T, cpu_t>& workspace) {
    using namespace cpu_detail;
    const index_t n = u.rows(), d = u.cols(), half = n / 2;
    const index_t bs = block_size(n);
    const index_t nb = (n + bs - 1) / bs;
    const index_t npairs = nb * (nb + 1) / 2;
    const index_t block_elems = bs * bs;
    // Workspace: the lower blocks of E (npairs × bs × bs), then per block six partials of bs:
    // row/column sums of E, row/column sums of E∘s, row/column maxima of s without i and p(i).
    ensure(workspace, npairs * block_elems + npairs * 6 * bs);
    T* const e_store = workspace.data();
    T* const partials = e_store + npairs * block_elems;
    auto pair_id = [](index_t bi, index_t bj) { return bi * (bi + 1) / 2 + bj; };
    std::vector<std::pair<index_t, index_t>> pairs;
    pairs.reserve(static_cast<std::size_t>(npairs));
    for (index_t bi = 0; bi < nb; ++bi)
      for (index_t bj = 0; bj <= bi; ++bj) pairs.emplace_back(bi, bj);
    const T inv_tau = static_cast<T>(1.0 / tau);
    const T neg_inf = minus_infinity<T>;
    vector<T> s_pos(n);  // s_{i,p(i)} = S_{i,p(i)} − 1/τ, from the GEMM blocks
    // The B operands of U_I U_Jᵀ: U_Jᵀ of every block J, each a contiguous row-major (D, bs)
    // panel (short row strides keep the GEMM's loads within a few pages).
    row_matrix<T> ut_blocks(nb * d, bs);
    parallel::parallel_for(0, nb, 1, [&](index_t lo, index_t hi) {
      for (index_t bj = lo; bj < hi; ++bj) {
        const index_t j0 = bj * bs, nj = std::min(bs, n - j0);
        ut_blocks.middleRows(bj * d, d).leftCols(nj) = u.middleRows(j0, nj).transpose();
      }
    });

    // Pass 1: one task per lower block (I, J), J ≤ I: the block's GEMM, then one sweep over its
    // rows (each row in L1): shift, exp (stored once), row/column partial sums of E and E∘s,
    // row/column maxima over the negatives, the positive logits.
    using row_array = Eigen::Array<T, 1, Eigen::Dynamic>;
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, npairs, 1, [&](index_t lo, index_t hi) {
      row_matrix<T> s(bs, bs);  // scratch: the block's cosines, then s = S − 1/τ row by row
      row_array es(bs);         // one row of E∘s
      for (index_t pid = lo; pid < hi; ++pid) {
        const auto [bi, bj] = pairs[static_cast<std::size_t>(pid)];
        const bool diagonal = bi == bj;
        const index_t i0 = bi * bs, ni = std::min(bs, n - i0);
        const index_t j0 = bj * bs, nj = std::min(bs, n - j0);
        block_gemm(ni, nj, d, u.data() + i0 * d, d, index_t{1}, ut_blocks.data() + bj * d * bs, bs,
                   s.data(), bs, false);
        T* e_block = e_store + pid * block_elems;
        T* part = partials + pid * 6 * bs;
        Eigen::Map<row_array> col_sum(part + bs, nj), col_es(part + 3 * bs, nj),
            col_max(part + 5 * bs, nj);
        col_sum.setZero();
        col_es.setZero();
        col_max.setConstant(neg_inf);
        for (index_t k = 0; k < ni; ++k) {
          const index_t i = i0 + k;
          auto srow = s.row(k).head(nj).array();
          Eigen::Map<row_array> erow(e_block + k * bs, nj);
          srow = (srow - T(1)) * inv_tau;
          if (diagonal) srow(k) = neg_inf;
          exp_row(isa, s.data() + k * bs, e_block + k * bs, nj);
          if (diagonal) {
            erow(k) = T(0);  // the diagonal is skipped exactly
            srow(k) = T(0);  // so that E∘s is 0 there, not 0·(−∞)
          }
          const index_t q = (i + half) % n;
          const bool positive_here = q >= j0 && q < j0 + nj;
          // DCL: the positive leaves the sums of row i (and of column q, whose positive is i).
          if (decoupled && positive_here) erow(q - j0) = T(0);
          es.head(nj) = erow * srow;
          part[k] = erow.sum();
          part[2 * bs + k] = es.head(nj).sum();
          if (!diagonal) {
            col_sum += erow;
            col_es += es.head(nj);
          }
          // Maxima over the negatives only: mask the diagonal and the positive. A positive
          // element (i, p(i)) is also the positive of column p(i): in an off-diagonal block this
          // task is the only one that sees row p(i)'s positive, so it records both.
          if (diagonal) srow(k) = neg_inf;
          if (positive_here) {
            s_pos(i) = srow(q - j0);
            if (!diagonal) s_pos(q) = srow(q - j0);
            srow(q - j0) = neg_inf;
          }
          part[4 * bs + k] = srow.maxCoeff();
          if (!diagonal) col_max = col_max.max(srow);
        }
      }
    });

    // Per row: combine the partials in block order, then the row's loss terms.
    const double tau_inv_d = 1.0 / tau;
    vector<T> a(n);  // a_i = 1/(2N r_i)
    std::vector<double> loss_i(static_cast<std::size_t>(n)), entropy_i(static_cast<std::size_t>(n));
    std::vector<char> correct(static_cast<std::size_t>(n));
    parallel::parallel_for(0, n, row_grain, [&](index_t lo, index_t hi) {
      for (index_t i = lo; i < hi; ++i) {
        const index_t bi = i / bs, k = i - bi * bs;
        T r = 0, es = 0, mx = neg_inf;
        for (index_t bj = 0; bj < nb; ++bj) {
          // Row i is a row of block (bi, bj) when bj ≤ bi, else a column of block (bj, bi).
          const T* part = bj <= bi ? partials + pair_id(bi, bj) * 6 * bs
                                   : partials + pair_id(bj, bi) * 6 * bs + bs;
          r += part[k];
          es += part[2 * bs + k];
          mx = std::max(mx, part[4 * bs + k]);
        }
        const double log_r = std::log(static_cast<double>(r));
        // ℓ_i = log r_i + 1/τ − w_i (s_pos + 1/τ), with s = S − 1/τ.
        const double w = weight_of(pw, i, half);
        loss_i[static_cast<std::size_t>(i)] =
            log_r - w * static_cast<double>(s_pos(i)) + (1.0 - w) * tau_inv_d;
        entropy_i[static_cast<std::size_t>(i)] =
            log_r - static_cast<double>(es) / static_cast<double>(r);
        correct[static_cast<std::size_t>(i)] = s_pos(i) > mx ? 1 : 0;
        a(i) = static_cast<T>(1.0 / (static_cast<double>(n) * static_cast<double>(r)));
      }
    });
    nt_xent_sums sums;
    for (index_t i = 0; i < n; ++i) {
      sums.loss += loss_i[static_cast<std::size_t>(i)];
      sums.entropy += entropy_i[static_cast<std::size_t>(i)];
      sums.top1_correct += correct[static_cast<std::size_t>(i)];
    }

    // Pass 2: ∂L/∂U = W U / τ, one task per row block of W, built tile by tile.
    // The positive entries of (Y + Yᵀ)/(2N): w_i/N.
    auto pos_weight = [&](index_t i) {
      return static_cast<T>(weight_of(pw, i, half) / static_cast<double>(half));
    };
    matrix_map<T> out(gu, n, d, Eigen::OuterStride<>(d));
    parallel::parallel_for(0, nb, 1, [&](index_t lo, index_t hi) {
      row_matrix<T> w(bs, bs), acc(bs, d);
      for (index_t bi = lo; bi < hi; ++bi) {
        const index_t i0 = bi * bs, ni = std::min(bs, n - i0);
        auto acc_b = acc.topRows(ni);
        acc_b.setZero();
        const auto a_i = a.segment(i0, ni);
        for (index_t bj = 0; bj < nb; ++bj) {
          const index_t j0 = bj * bs, nj = std::min(bs, n - j0);
          const auto a_j = a.segment(j0, nj);
          if (bj <= bi) {
            // Tile (I, J) of W, from the stored block E_IJ (ni × nj).
            const_matrix_map<T> e(e_store + pair_id(bi, bj) * block_elems, ni, nj,
                                  Eigen::OuterStride<>(bs));
            auto wb = w.topLeftCorner(ni, nj);
            for (index_t k = 0; k < ni; ++k)
              wb.row(k).array() = e.row(k).array() * (a_j.transpose().array() + a_i(k));
            for (index_t k = 0; k < ni; ++k) {
              const index_t q = (i0 + k + half) % n;
              if (q >= j0 && q < j0 + nj) wb(k, q - j0) -= pos_weight(i0 + k);
            }
            block_gemm(ni, d, nj, w.data(), bs, index_t{1}, u.data() + j0 * d, d, acc.data(), d,
                       true);
          } else {
            // Tile (I, J) is the transpose of tile (J, I): build that one (nj × ni) from E_JI.
            const_matrix_map<T> e(e_store + pair_id(bj, bi) * block_elems, nj, ni,
                                  Eigen::OuterStride<>(bs));
            auto wb = w.topLeftCorner(nj, ni);
            for (index_t k = 0; k < nj; ++k)
              wb.row(k).array() = e.row(k).array() * (a_i.transpose().array() + a_j(k));
            for (index_t k = 0; k < nj; ++k) {
              const index_t q = (j0 + k + half) % n;
              if (q >= i0 && q < i0 + ni) wb(k, q - i0) -= pos_weight(j0 + k);
            }
            block_gemm(ni, d, nj, w.data(), index_t{1}, bs, u.data() + j0 * d, d, acc.data(), d,
                       true);  // A = wbᵀ
          }
        }
        out.middleRows(i0, ni) = acc_b * inv_tau;
      }
    });
    add_weight_gradient(u, pw, tau, gu);
    return sums;
  }

  // ---- general algorithm (any set of anchor rows) --------------------------------------------
  template <class T>
  static nt_xent_sums general(const cpu_detail::row_matrix<T>& u,
                              std::span<const index_t> anchors, double tau, bool decoupled,
                              const detail::positive_pair_weights& pw, T* gu,
                              tensor<T, cpu_t>& workspace) {
    using namespace cpu_detail;
    const index_t n = u.rows(), d = u.cols(), half = n / 2;
    const index_t m = static_cast<index_t>(anchors.size());
    matrix_map<T> out(gu, n, d, Eigen::OuterStride<>(d));
    if (m == 0) {
      out.setZero();
      return {};
    }
    row_matrix<T> ua(m, d);  // (M, D) the anchors' unit rows
    for (index_t k = 0; k < m; ++k) ua.row(k) = u.row(anchors[static_cast<std::size_t>(k)]);
    ensure(workspace, m * n);
    T* const sim = workspace.data();  // (M, 2N) S, then G in place
    const T inv_tau = static_cast<T>(1.0 / tau);
    const row_matrix<T> ut = u.transpose();  // (D, 2N)
    parallel_gemm(m, n, d, ua.data(), d, index_t{1}, ut.data(), n, sim, n, false);
    matrix_map<T>(sim, m, n, Eigen::OuterStride<>(n)) *= inv_tau;
    std::vector<double> loss_k(static_cast<std::size_t>(m)), entropy_k(static_cast<std::size_t>(m));
    std::vector<char> correct(static_cast<std::size_t>(m));
    const T inv_rows = static_cast<T>(1.0 / static_cast<double>(n));
    const cpu_isa isa = current_cpu_isa();
    parallel::parallel_for(0, m, row_grain, [&](index_t lo, index_t hi) {
      vector<T> e(n);
      for (index_t k = lo; k < hi; ++k) {
        const index_t g = anchors[static_cast<std::size_t>(k)];
        const index_t q = (g + half) % n;
        Eigen::Map<vector<T>> s(sim + k * n, n);
        const T s_pos = s(q);
        s(g) = minus_infinity<T>;  // skip the anchor itself
        const T mx = s.maxCoeff();
        s(q) = minus_infinity<T>;
        const T mx_neg = s.maxCoeff();
        s(q) = s_pos;
        // DCL: the positive leaves the sum, and the shift is the negatives' maximum.
        const T shift = decoupled ? mx_neg : mx;
        e.array() = s.array() - shift;
        exp_row(isa, e.data(), e.data(), n);
        e(g) = T(0);
        if (decoupled) e(q) = T(0);
        s(g) = T(0);
        const T r = e.sum();
        const T es = e.dot(s);
        const double lse = static_cast<double>(shift) + std::log(static_cast<double>(r));
        const double w = weight_of(pw, g, half);
        loss_k[static_cast<std::size_t>(k)] = lse - w * static_cast<double>(s_pos);
        entropy_k[static_cast<std::size_t>(k)] =
            lse - static_cast<double>(es) / static_cast<double>(r);
        correct[static_cast<std::size_t>(k)] = s_pos > mx_neg ? 1 : 0;
        // G row: (P − Y)/(2N), P_gg = 0.
        s = e * static_cast<T>(1.0 / (static_cast<double>(n) * static_cast<double>(r)));
        s(q) -= static_cast<T>(w) * inv_rows;
      }
    });
    nt_xent_sums sums;
    for (index_t k = 0; k < m; ++k) {
      sums.loss += loss_k[static_cast<std::size_t>(k)];
      sums.entropy += entropy_k[static_cast<std::size_t>(k)];
      sums.top1_correct += correct[static_cast<std::size_t>(k)];
    }
    // ∂/∂U: the negatives' side Gᵀ U_A / τ for every row, plus the anchors' side G U / τ.
    parallel_gemm(n, d, m, sim, index_t{1}, n, ua.data(), d, gu, d, false);  // A = Gᵀ
    row_matrix<T> anchor_side(m, d);
    parallel_gemm(m, d, n, sim, n, index_t{1}, u.data(), d, anchor_side.data(), d, false);
    for (index_t k = 0; k < m; ++k)
      out.row(anchors[static_cast<std::size_t>(k)]) += anchor_side.row(k);
    out *= inv_tau;
    add_weight_gradient(u, pw, tau, gu);
    return sums;
  }
};

}  // namespace simclr::loss
