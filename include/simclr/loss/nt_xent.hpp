// simclr::loss::nt_xent: SimCLR's normalised temperature-scaled cross-entropy loss (docs/losses-and-optimizers.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <simclr/backend/tags.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/loss/checks.hpp>
#include <simclr/loss/kernels.hpp>
#include <simclr/loss/cpu/nt_xent.hpp>  // the CPU kernel, included here only
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::loss {

/// How the reported loss is scaled. `mean` is L = (1/2N) Σ_i ℓ_i (torchvision-style
/// implementations). `tf_reference` reports 2·L, as the official TensorFlow code does (it sums
/// the two cross-entropy means of view 1 → all and view 2 → all); the gradient scales with it.
enum class nt_xent_scale { mean, tf_reference };

/// Options of NT-Xent. All runtime values.
struct nt_xent_options {
  /// τ > 0. The default 0.5 is the paper's CIFAR-10 value; use 0.1 for ImageNet.
  double temperature = 0.5;
  nt_xent_scale scale = nt_xent_scale::mean;
  /// ε of u = z / max(‖z‖, ε) (PyTorch's F.normalize default).
  double norm_epsilon = 1e-12;
  /// When false (default) a row with ‖z‖ < ε is a value_error (a dead embedding); when true it
  /// is divided by ε as F.normalize does.
  bool allow_small_rows = false;
  /// near_collapse is raised when |L − log(2N−1)| ≤ collapse_tolerance · log(2N−1) (never for
  /// 2N = 2, where L = 0 for every z); log(2N−2) when decoupled.
  double collapse_tolerance = 0.01;
  /// DCL (Yeh et al., "Decoupled Contrastive Learning", ECCV 2022): the positive is left out of
  /// the denominator, ℓ_i = −S_{i,p(i)} + log Σ_{k∉{i,p(i)}} exp(S_ik). It removes the
  /// positive–negative coupling that slows learning at small batches. Needs 2N ≥ 4.
  bool decoupled = false;
  /// DCLW: σ > 0 weights each positive term by w = 2 − N·softmax(cos(z_j, z_{j+N})/σ) over the
  /// batch's N pairs (pairs that already agree weigh less; the weights carry gradient, as in the
  /// paper's code). 0 (default) is off; the paper uses σ = 0.5 together with decoupled = true.
  double positive_weight_sigma = 0.0;
};

/// The value of NT-Xent on a batch, its gradient and the monitoring values.
template <class T, class B>
struct nt_xent_result {
  double value = 0.0;       ///< the loss, scaled as nt_xent_options::scale says
  tensor<T, B> dz;          ///< (2N, D) ∂value/∂z
  double top1_accuracy = 0.0;  ///< fraction of anchors whose positive has the strictly largest logit
  double mean_entropy = 0.0;   ///< mean over anchors of the softmax entropy (nats); log(2N−1) is uniform
  double collapse_value = 0.0; ///< log(2N−1), scaled like value: the loss of all-equal embeddings
  bool near_collapse = false;  ///< value within collapse_tolerance of collapse_value
};

/// What one worker computes in the distributed form (nt_xent::partial): sums over its anchors,
/// to be summed (all-reduced) across workers, and the gradient with respect to the whole
/// gathered batch, which must be summed across workers too before each worker takes its rows.
template <class T, class B>
struct nt_xent_partial_result {
  double value = 0.0;          ///< (scale/2N) Σ_{anchors} ℓ_i: the workers' values add up to the loss
  tensor<T, B> d_gathered;     ///< (2N, D) ∂value/∂gathered (anchor and negative roles both)
  index_t anchors = 0;         ///< number of anchors handled here
  index_t top1_correct = 0;    ///< anchors whose positive has the strictly largest logit
  double entropy_sum = 0.0;    ///< Σ over anchors of the softmax entropy
};


/// NT-Xent (docs/losses-and-optimizers.md). For z of shape (2N, D), u_i = z_i/‖z_i‖, S = U Uᵀ/τ, the positive of row i
/// is row p(i) = (i + N) mod 2N and
///   ℓ_i = −S_{i,p(i)} + log Σ_{k≠i} exp(S_ik),   L = (1/2N) Σ_i ℓ_i.
/// The diagonal is skipped (never a finite −1e9), the log-sum-exp is shifted, dz is analytic.
/// Satisfies simclr::contrastive_loss<nt_xent<T, B>, T, B>. Holds a reusable workspace, so one
/// object must not be called from two threads at once (use one per thread).
template <class T = float, backend B = cpu_t>
class nt_xent {
 public:
  using scalar_type = T;
  using backend_type = B;

  nt_xent() = default;
  /// Throws value_error for τ ≤ 0, ε < 0 or a negative collapse tolerance.
  explicit nt_xent(const nt_xent_options& options) : options_(options) {
    detail::check_temperature(options.temperature, "nt_xent");
    if (!(options.norm_epsilon >= 0.0))
      throw value_error("simclr: nt_xent: norm_epsilon is " +
                        std::to_string(options.norm_epsilon) + ", expected ≥ 0");
    if (!(options.collapse_tolerance >= 0.0))
      throw value_error("simclr: nt_xent: collapse_tolerance is " +
                        std::to_string(options.collapse_tolerance) + ", expected ≥ 0");
    if (!(options.positive_weight_sigma >= 0.0) || !std::isfinite(options.positive_weight_sigma))
      throw value_error("simclr: nt_xent: positive_weight_sigma is " +
                        std::to_string(options.positive_weight_sigma) +
                        ", expected 0 (off) or a finite σ > 0 (DCLW; the paper's 0.5)");
  }

  [[nodiscard]] const nt_xent_options& options() const noexcept { return options_; }

  /// The loss of the (2N, D) batch z, its gradient and the monitoring values.
  /// Throws shape_error for an odd row count or a rank ≠ 2, value_error for NaN/Inf rows and
  /// (unless allowed) rows of norm < ε.
  [[nodiscard]] nt_xent_result<T, B> operator()(const tensor<T, B>& z) {
    detail::check_pair_batch(z, "nt_xent");
    check_decoupled_rows(z.extent(0));
    const index_t rows = z.extent(0), d = z.extent(1);
    nt_xent_result<T, B> r;
    r.dz = tensor<T, B>(z.shape(), uninitialized);
    const nt_xent_sums s =
        nt_xent_kernel<B>::full(z.data(), rows, d, params(), r.dz.data(), workspace_);
    finish(r, scale_factor() * s.loss / static_cast<double>(rows),
           static_cast<double>(s.top1_correct), s.entropy, rows);
    return r;
  }

  /// Fills a result's value and monitoring fields from the sums over all `rows` anchors of a
  /// batch (the distributed form calls it with the sums of every worker): the value, top-1 and
  /// mean entropy, the collapse value log(rows − 1) and whether the value sits near it.
  void finish(nt_xent_result<T, B>& r, double value, double top1_correct, double entropy_sum,
              index_t rows) const {
    const double n = static_cast<double>(rows);
    r.value = value;
    r.top1_accuracy = top1_correct / n;
    r.mean_entropy = entropy_sum / n;
    r.collapse_value = scale_factor() * std::log(n - (options_.decoupled ? 2.0 : 1.0));
    // 2N = 2 (NT-Xent only): each anchor's only other row is its positive, L = 0 = log(1) for every z, and the
    // comparison would only test float rounding of 0 (it differed between the CPU and CUDA).
    r.near_collapse = rows > 2 && std::abs(r.value - r.collapse_value) <=
                                      options_.collapse_tolerance * r.collapse_value;
  }

  /// The distributed form (docs/losses-and-optimizers.md): `gathered` is the global (2N, D) batch gathered from every
  /// worker, in the global layout (the positive of row g is row (g + N) mod 2N), and
  /// `anchor_rows` the rows this worker owns. The anchors are contrasted with the whole gathered
  /// batch. Summing `value` over workers gives the loss; summing `d_gathered` over workers
  /// (all-reduce) and taking a worker's rows gives that worker's dz — exactly what one worker
  /// on the whole batch computes. Anchor rows must be distinct and in [0, 2N).
  [[nodiscard]] nt_xent_partial_result<T, B> partial(const tensor<T, B>& gathered,
                                                     std::span<const index_t> anchor_rows) {
    detail::check_pair_batch(gathered, "nt_xent", "gathered");
    check_decoupled_rows(gathered.extent(0));
    const index_t rows = gathered.extent(0), d = gathered.extent(1);
    std::vector<char> seen(static_cast<std::size_t>(rows), 0);
    for (const index_t a : anchor_rows) {
      if (a < 0 || a >= rows)
        throw value_error("simclr: nt_xent: anchor row " + std::to_string(a) +
                          " is outside the gathered batch of " + std::to_string(rows) + " rows");
      if (seen[static_cast<std::size_t>(a)] != 0)
        throw value_error("simclr: nt_xent: anchor row " + std::to_string(a) +
                          " is listed twice");
      seen[static_cast<std::size_t>(a)] = 1;
    }
    nt_xent_partial_result<T, B> r;
    r.d_gathered = tensor<T, B>(gathered.shape(), uninitialized);
    const nt_xent_sums s = nt_xent_kernel<B>::partial(gathered.data(), rows, d, anchor_rows,
                                                      params(), r.d_gathered.data(), workspace_);
    r.value = scale_factor() * s.loss / static_cast<double>(rows);
    r.anchors = static_cast<index_t>(anchor_rows.size());
    r.top1_correct = s.top1_correct;
    r.entropy_sum = s.entropy;
    return r;
  }

 private:
  [[nodiscard]] double scale_factor() const noexcept {
    return options_.scale == nt_xent_scale::tf_reference ? 2.0 : 1.0;
  }
  [[nodiscard]] nt_xent_params params() const noexcept {
    return {options_.temperature, options_.norm_epsilon, options_.allow_small_rows,
            scale_factor(), options_.decoupled, options_.positive_weight_sigma};
  }
  /// DCL needs a negative: 2N ≥ 4.
  void check_decoupled_rows(index_t rows) const {
    if (options_.decoupled && rows < 4)
      throw shape_error("simclr: nt_xent: a decoupled (DCL) batch has " + std::to_string(rows) +
                        " rows, expected 2N ≥ 4 (with one pair there is no negative left in the "
                        "denominator)");
  }

  nt_xent_options options_{};
  tensor<T, B> workspace_;  // reused between calls (the similarity blocks)
};

}  // namespace simclr::loss

