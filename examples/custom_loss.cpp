// custom_loss: a user-defined contrastive loss plugged into simclr through the concept, with its
// hand-written gradient verified by the public gradient checker.
//
// The loss is alignment + uniformity (Wang & Isola, ICML 2020) on unit embeddings u = z/‖z‖:
//   align   = (1/2N) Σ_i ‖u_i − u_p(i)‖²                   (positives close)
//   uniform = log( mean_{i<j} exp(−t ‖u_i − u_j‖²) )       (all embeddings spread out)
//   L       = align + λ·uniform
// A loss is any type whose call `l(z)` on a (2N, D) tensor returns `.value` and `.dz`: no base
// class, no registration. Extra fields (here the two terms) are free for monitoring.
//
//   ./custom_loss [N] [D]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <simclr/simclr.hpp>
#include <simclr/testing/gradcheck.hpp>

using namespace simclr;

/// What the loss returns: the two required fields plus its own monitoring values.
template <class T>
struct align_uniform_result {
  double value = 0.0;  // required: the loss
  tensor<T> dz;        // required: (2N, D) ∂value/∂z
  double align = 0.0;
  double uniform = 0.0;
};

/// Alignment + uniformity, forward and analytic backward in plain loops.
template <class T>
struct align_uniform {
  double t = 2.0;       // uniformity temperature
  double lambda = 1.0;  // weight of the uniformity term

  align_uniform_result<T> operator()(const tensor<T>& z) const {
    const index_t rows = z.extent(0), d = z.extent(1), n = rows / 2;
    // (2N, D) normalised z and the norms.
    tensor<double> u(shape{rows, d});
    std::vector<double> norm(static_cast<std::size_t>(rows));
    for (index_t i = 0; i < rows; ++i) {
      double s = 0;
      for (index_t j = 0; j < d; ++j) s += double(z(i, j)) * double(z(i, j));
      norm[static_cast<std::size_t>(i)] = std::sqrt(s);
      for (index_t j = 0; j < d; ++j) u(i, j) = double(z(i, j)) / std::sqrt(s);
    }
    auto dot = [&](index_t a, index_t b) {
      double s = 0;
      for (index_t j = 0; j < d; ++j) s += u(a, j) * u(b, j);
      return s;
    };
    tensor<double> g(shape{rows, d});  // (2N, D) ∂L/∂u
    align_uniform_result<T> r;
    // align: ‖u_i − u_p‖² = 2 − 2 u_i·u_p, averaged over the 2N anchors (each pair twice).
    for (index_t i = 0; i < rows; ++i) {
      const index_t p = (i + n) % rows;
      r.align += (2.0 - 2.0 * dot(i, p)) / double(rows);
      for (index_t j = 0; j < d; ++j) g(i, j) += -4.0 / double(rows) * u(p, j);
    }
    // uniform: w_ij = exp(−t(2 − 2 u_i·u_j)), Z = Σ_{i<j} w_ij, value log(Z / pairs);
    // ∂/∂u_i = (2t/Z) Σ_{j≠i} w_ij u_j.
    tensor<double> w(shape{rows, rows});
    double total = 0;
    for (index_t i = 0; i < rows; ++i)
      for (index_t k = i + 1; k < rows; ++k) {
        w(i, k) = w(k, i) = std::exp(-t * (2.0 - 2.0 * dot(i, k)));
        total += w(i, k);
      }
    const double pairs = double(rows) * double(rows - 1) / 2.0;
    r.uniform = std::log(total / pairs);
    for (index_t i = 0; i < rows; ++i)
      for (index_t k = 0; k < rows; ++k) {
        if (k == i) continue;
        const double c = lambda * 2.0 * t * w(i, k) / total;
        for (index_t j = 0; j < d; ++j) g(i, j) += c * u(k, j);
      }
    r.value = r.align + lambda * r.uniform;
    // Through u = z/‖z‖: dz_i = (g_i − (g_i·u_i) u_i) / ‖z_i‖.
    r.dz = tensor<T>(z.shape());
    for (index_t i = 0; i < rows; ++i) {
      double radial = 0;
      for (index_t j = 0; j < d; ++j) radial += g(i, j) * u(i, j);
      for (index_t j = 0; j < d; ++j)
        r.dz(i, j) = T((g(i, j) - radial * u(i, j)) / norm[static_cast<std::size_t>(i)]);
    }
    return r;
  }
};

// The concept is the whole contract: checked here at compile time, for float and double.
static_assert(contrastive_loss<align_uniform<float>, float, cpu_t>);
static_assert(contrastive_loss<align_uniform<double>, double, cpu_t>);
static_assert(contrastive_loss<loss::nt_xent<float>, float, cpu_t>);  // a library loss, same shape

/// Anything generic over contrastive losses accepts the custom one.
template <class T, contrastive_loss<T, cpu_t> L>
double loss_value(L& l, const tensor<T>& z) {
  return l(z).value;
}

int main(int argc, char** argv) {
  const index_t n = argc > 1 ? std::atol(argv[1]) : 8;
  const index_t d = argc > 2 ? std::atol(argv[2]) : 16;
  if (n < 2 || d < 2) {
    std::fprintf(stderr, "usage: custom_loss [N ≥ 2] [D ≥ 2]\n");
    return 2;
  }
  tensor<double> z(shape{2 * n, d});
  random::fill_normal(z.view(), random::key(2020));

  align_uniform<double> custom{.t = 2.0, .lambda = 1.0};
  const auto r = custom(z);
  std::printf("align + uniformity on a random (%td, %td) batch: %.6f (align %.6f, uniform %.6f)\n",
              2 * n, d, r.value, r.align, r.uniform);
  loss::nt_xent<double> nt({.temperature = 0.5});
  std::printf("NT-Xent (tau 0.5) on the same batch:          %.6f\n", loss_value(nt, z));

  // The public gradient checker: central differences against the analytic dz, in double.
  auto f = [&] { return custom(z).value; };
  const auto check = testing::gradcheck(f, {{"z", z, r.dz}});
  std::printf("%s\n", check.message().c_str());
  return check.passed ? 0 : 1;
}
