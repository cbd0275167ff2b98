// CPU-vs-CUDA parity of the losses (value, gradient, monitoring values) and the optimizer updates.
#include "parity.cuh"

#include <array>
#include <vector>

using namespace simclr;
using parity::check_close;
using parity::random_host;

TEST_CASE_TEMPLATE("cuda nt_xent matches the cpu: value, dz, top-1, entropy", T, float, double) {
  // Tolerances: float 2e-5 (sums of 2N exps and D-long dots in another order), double 1e-10.
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-10;
  for (const auto [rows, d, tau] : {std::array<double, 3>{8, 5, 0.5}, {64, 16, 0.1},
                                    {300, 32, 0.05}, {2, 3, 1.0}}) {
    const auto z = random_host<T>(shape{index_t(rows), index_t(d)}, 31);
    loss::nt_xent<T> cpu({.temperature = tau});
    loss::nt_xent<T, cuda_t> gpu({.temperature = tau});
    const auto rc = cpu(z);
    const auto rg = gpu(to_device(z));
    CAPTURE(rows);
    CHECK(rg.value == doctest::Approx(rc.value).epsilon(tol));
    CHECK(rg.mean_entropy == doctest::Approx(rc.mean_entropy).epsilon(tol));
    CHECK(rg.top1_accuracy == rc.top1_accuracy);
    CHECK(rg.collapse_value == rc.collapse_value);
    CHECK(rg.near_collapse == rc.near_collapse);
    check_close(rc.dz, rg.dz, tol, "nt_xent dz");
  }
}

TEST_CASE_TEMPLATE("cuda dcl and dclw match the cpu: whole batch and partial", T, float, double) {
  // DCL (decoupled) and DCLW (σ = 0.5): both CUDA paths (the symmetric gradient of the whole
  // batch and the anchor-subset one) against the CPU kernel.
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-10;
  for (const double sigma : {0.0, 0.5}) {
    for (const auto [rows, d, tau] : {std::array<double, 3>{8, 5, 0.5}, {64, 16, 0.1},
                                      {300, 32, 0.05}, {4, 3, 1.0}}) {
      const auto z = random_host<T>(shape{index_t(rows), index_t(d)}, 33);
      const loss::nt_xent_options o{.temperature = tau, .decoupled = true,
                                    .positive_weight_sigma = sigma};
      loss::nt_xent<T> cpu(o);
      loss::nt_xent<T, cuda_t> gpu(o);
      const auto rc = cpu(z);
      const auto rg = gpu(to_device(z));
      CAPTURE(rows);
      CAPTURE(sigma);
      CHECK(rg.value == doctest::Approx(rc.value).epsilon(tol));
      CHECK(rg.mean_entropy == doctest::Approx(rc.mean_entropy).epsilon(tol));
      CHECK(rg.top1_accuracy == rc.top1_accuracy);
      CHECK(rg.collapse_value == rc.collapse_value);
      check_close(rc.dz, rg.dz, tol, "dcl dz");
      std::vector<index_t> anchors;
      for (index_t i = 1; i < index_t(rows); i += 3) anchors.push_back(i);
      const auto pc = cpu.partial(z, anchors);
      const auto pg = gpu.partial(to_device(z), anchors);
      CHECK(pg.value == doctest::Approx(pc.value).epsilon(tol));
      CHECK(pg.top1_correct == pc.top1_correct);
      check_close(pc.d_gathered, pg.d_gathered, tol, "dcl partial d_gathered");
    }
  }
}

TEST_CASE_TEMPLATE("cuda barlow_twins and vicreg match the cpu: value, terms, dz", T, float, double) {
  const double tol = std::is_same_v<T, float> ? 5e-5 : 1e-10;
  for (const auto [rows, d] : {std::array<index_t, 2>{4, 3}, {16, 8}, {128, 64}, {512, 256}}) {
    auto z = random_host<T>(shape{rows, d}, 35);
    // Correlated views; column j scaled by 0.5 + 4j/d (standard deviations 0.3 to 2.6).
    for (index_t i = 0; i < rows / 2; ++i)
      for (index_t j = 0; j < d; ++j) {
        const T c = static_cast<T>(0.5 + 4.0 * static_cast<double>(j) / static_cast<double>(d));
        z(i, j) *= c;
        z(i + rows / 2, j) = static_cast<T>(0.7) * z(i, j) + static_cast<T>(0.3) * c * z(i + rows / 2, j);
      }
    CAPTURE(rows);
    const loss::barlow_twins<T> bt_cpu({.lambda = 0.02});
    const loss::barlow_twins<T, cuda_t> bt_gpu({.lambda = 0.02});
    const auto bc = bt_cpu(z);
    const auto bg = bt_gpu(to_device(z));
    CHECK(bg.value == doctest::Approx(bc.value).epsilon(tol));
    CHECK(bg.on_diagonal == doctest::Approx(bc.on_diagonal).epsilon(tol));
    CHECK(bg.off_diagonal == doctest::Approx(bc.off_diagonal).epsilon(tol));
    CHECK(bg.mean_diagonal == doctest::Approx(bc.mean_diagonal).epsilon(tol));
    check_close(bc.dz, bg.dz, tol, "barlow_twins dz");
    // γ = 1.2: the narrow columns' hinges are active, the wide ones' are not.
    const loss::vicreg<T> vr_cpu({.variance_target = 1.2});
    const loss::vicreg<T, cuda_t> vr_gpu({.variance_target = 1.2});
    const auto vc = vr_cpu(z);
    const auto vg = vr_gpu(to_device(z));
    CHECK(vg.value == doctest::Approx(vc.value).epsilon(tol));
    CHECK(vg.invariance == doctest::Approx(vc.invariance).epsilon(tol));
    CHECK(vg.variance == doctest::Approx(vc.variance).epsilon(tol));
    CHECK(vg.covariance == doctest::Approx(vc.covariance).epsilon(tol));
    check_close(vc.dz, vg.dz, tol, "vicreg dz");
  }
  auto bad = random_host<T>(shape{8, 4}, 36);
  bad(6, 2) = static_cast<T>(NAN);
  using device_vicreg = loss::vicreg<T, cuda_t>;
  using device_barlow_twins = loss::barlow_twins<T, cuda_t>;
  const auto bad_device = to_device(bad);
  CHECK_THROWS_AS((void)device_vicreg()(bad_device), value_error);
  CHECK_THROWS_AS((void)device_barlow_twins()(bad_device), value_error);
}

TEST_CASE_TEMPLATE("cuda info_nce matches the cpu: value, dq, keys, top-1, entropy", T, float, double) {
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-10;
  for (const auto [m, d, negatives] : {std::array<index_t, 3>{4, 3, 0}, {16, 8, 64},
                                       {256, 128, 4096}, {7, 5, 33}}) {
    CAPTURE(m);
    CAPTURE(negatives);
    const auto q = random_host<T>(shape{m, d}, 37), k = random_host<T>(shape{m, d}, 38);
    auto queue = random_host<T>(shape{std::max<index_t>(negatives, 1), d}, 39);
    for (index_t i = 0; i < queue.extent(0); ++i) {  // unit rows, as a MoCo queue holds
      double s = 0;
      for (index_t j = 0; j < d; ++j) s += double(queue(i, j)) * double(queue(i, j));
      for (index_t j = 0; j < d; ++j) queue(i, j) = static_cast<T>(double(queue(i, j)) / std::sqrt(s));
    }
    const loss::info_nce<T> cpu({.temperature = 0.2});
    const loss::info_nce<T, cuda_t> gpu({.temperature = 0.2});
    const auto rc = cpu(q, k, queue, negatives);
    const auto rg = gpu(to_device(q), to_device(k), to_device(queue), negatives);
    CHECK(rg.value == doctest::Approx(rc.value).epsilon(tol));
    CHECK(rg.mean_entropy == doctest::Approx(rc.mean_entropy).epsilon(tol));
    CHECK(rg.top1_accuracy == rc.top1_accuracy);
    check_close(rc.dq, rg.dq, tol, "info_nce dq");
    check_close(rc.keys, rg.keys, tol, "info_nce keys");
  }
}

TEST_CASE("cuda nt_xent: tf_reference scale, the distributed partial form, small-τ stability") {
  const auto z = random_host<float>(shape{16, 8}, 32);
  loss::nt_xent<float> cpu({.temperature = 0.2, .scale = loss::nt_xent_scale::tf_reference});
  loss::nt_xent<float, cuda_t> gpu({.temperature = 0.2, .scale = loss::nt_xent_scale::tf_reference});
  const auto rc = cpu(z);
  const auto rg = gpu(to_device(z));
  CHECK(rg.value == doctest::Approx(rc.value).epsilon(2e-5));
  check_close(rc.dz, rg.dz, 2e-5, "tf_reference dz");

  const std::vector<index_t> anchors{3, 0, 9, 15, 4};
  const auto pc = cpu.partial(z, anchors);
  const auto pg = gpu.partial(to_device(z), anchors);
  CHECK(pg.value == doctest::Approx(pc.value).epsilon(2e-5));
  CHECK(pg.top1_correct == pc.top1_correct);
  CHECK(pg.anchors == pc.anchors);
  CHECK(pg.entropy_sum == doctest::Approx(pc.entropy_sum).epsilon(2e-5));
  check_close(pc.d_gathered, pg.d_gathered, 2e-5, "partial d_gathered");
  const auto none = gpu.partial(to_device(z), std::span<const index_t>());
  CHECK(parity::worst_difference(tensor<float>(z.shape()), none.d_gathered) == 0.0);

  // τ = 0.01: logits up to 100, exp(100) overflows float — the shifted log-sum-exp must not.
  loss::nt_xent<float> sharp_cpu({.temperature = 0.01});
  loss::nt_xent<float, cuda_t> sharp_gpu({.temperature = 0.01});
  const auto sc = sharp_cpu(z);
  const auto sg = sharp_gpu(to_device(z));
  CHECK(std::isfinite(sg.value));
  CHECK(sg.value == doctest::Approx(sc.value).epsilon(1e-4));
  check_close(sc.dz, sg.dz, 1e-4, "τ = 0.01 dz");
}

TEST_CASE("cuda nt_xent reports bad rows and shapes like the cpu") {
  auto z = random_host<float>(shape{4, 3}, 33);
  z(2, 0) = std::numeric_limits<float>::quiet_NaN();
  loss::nt_xent<float, cuda_t> gpu;
  CHECK_THROWS_WITH_AS((void)gpu(to_device(z)), "simclr: nt_xent: row 2 of z holds a NaN or an infinity",
                       value_error);
  tensor<float> zero_row = random_host<float>(shape{4, 3}, 34);
  for (index_t j = 0; j < 3; ++j) zero_row(1, j) = 0.f;
  CHECK_THROWS_AS((void)gpu(to_device(zero_row)), value_error);
  CHECK_THROWS_AS((void)gpu(tensor<float, cuda_t>(shape{5, 3})), shape_error);
}

TEST_CASE("cuda nt_logistic and margin_triplet match the cpu") {
  // Tolerance 2e-5: double per-row terms, float cosines and GEMMs in another order.
  const auto z = random_host<float>(shape{24, 7}, 35);
  const auto zd = to_device(z);
  for (const double w : {1.0, 0.5}) {
    loss::nt_logistic<float> cpu({.temperature = 0.3, .negative_weight = w});
    loss::nt_logistic<float, cuda_t> gpu({.temperature = 0.3, .negative_weight = w});
    const auto rc = cpu(z);
    const auto rg = gpu(zd);
    CHECK(rg.value == doctest::Approx(rc.value).epsilon(2e-5));
    CHECK(rg.top1_accuracy == rc.top1_accuracy);
    check_close(rc.dz, rg.dz, 2e-5, "nt_logistic dz");
  }
  for (const bool semi_hard : {false, true}) {
    loss::margin_triplet<float> cpu({.margin = 0.4, .semi_hard = semi_hard});
    loss::margin_triplet<float, cuda_t> gpu({.margin = 0.4, .semi_hard = semi_hard});
    const auto rc = cpu(z);
    const auto rg = gpu(zd);
    CAPTURE(semi_hard);
    CHECK(rg.value == doctest::Approx(rc.value).epsilon(2e-5));
    CHECK(rg.top1_accuracy == rc.top1_accuracy);
    check_close(rc.dz, rg.dz, 2e-5, "margin_triplet dz");
  }
}

namespace {
/// Two parameters (a decaying weight and a norm scale) on each backend, same values.
struct param_pair {
  tensor<float> w = random_host(shape{300, 7}, 41), gw = random_host(shape{300, 7}, 42);
  tensor<float> s = random_host(shape{7}, 43), gs = random_host(shape{7}, 44);
  tensor<float, cuda_t> dw = to_device(w), dgw = to_device(gw), ds = to_device(s),
                        dgs = to_device(gs);
  std::vector<parameter<float>> cpu() {
    return {{"w", parameter_role::weight, &w, &gw}, {"s", parameter_role::norm_scale, &s, &gs}};
  }
  std::vector<parameter<float, cuda_t>> gpu() {
    return {{"w", parameter_role::weight, &dw, &dgw}, {"s", parameter_role::norm_scale, &ds, &dgs}};
  }
  void check(double tol, const std::string& what) {
    check_close(w, dw, tol, what + " weight");
    check_close(s, ds, tol, what + " scale");
  }
};
template <class CpuOpt, class GpuOpt>
void run_steps(CpuOpt& co, GpuOpt& go, const std::string& what) {
  param_pair p;
  const auto pc = p.cpu();
  const auto pg = p.gpu();
  for (int step = 0; step < 3; ++step) {
    co.step(std::span<const parameter<float>>(pc), 0.1);
    go.step(std::span<const parameter<float, cuda_t>>(pg), 0.1);
  }
  // Tolerance 1e-6: the same element-wise float formulas (the device may fuse multiply-adds).
  p.check(1e-6, what);
}
}  // namespace

TEST_CASE("cuda optimizers match the cpu: sgd, lars (trust ratios), adamw") {
  {
    optim::sgd<float> c({.momentum = 0.9, .nesterov = true, .weight_decay = 1e-3});
    optim::sgd<float, cuda_t> g({.momentum = 0.9, .nesterov = true, .weight_decay = 1e-3});
    run_steps(c, g, "sgd");
  }
  {
    optim::lars<float> c({.weight_decay = 1e-4});
    optim::lars<float, cuda_t> g({.weight_decay = 1e-4});
    param_pair p;
    // Norms reduced in double on both sides: the trust ratios agree to double rounding.
    CHECK(g.trust_ratio(p.gpu()[0]) == doctest::Approx(c.trust_ratio(p.cpu()[0])).epsilon(1e-12));
    run_steps(c, g, "lars");
  }
  {
    optim::adamw<float> c;
    optim::adamw<float, cuda_t> g;
    run_steps(c, g, "adamw");
  }
}

TEST_CASE("cuda ema_update matches the cpu on every parameter, buffer and counter") {
  const auto make = [](auto backend_tag, std::uint64_t seed) {
    using B = decltype(backend_tag);
    return encoders::resnet18<float, B>(
        {.base_width = 2, .in_channels = 1, .stem = encoders::stem::cifar, .seed = seed});
  };
  auto online_c = make(cpu_t{}, 1), target_c = make(cpu_t{}, 2);
  auto online_g = make(cuda_t{}, 1), target_g = make(cuda_t{}, 2);
  optim::ema_update(target_c, online_c, 0.9);
  optim::ema_update(target_g, online_g, 0.9);
  std::vector<const tensor<float>*> c;
  std::vector<const tensor<float, cuda_t>*> g;
  target_c.visit_state([&](const nn::state_ref<float, cpu_t>& s) { if (s.value) c.push_back(s.value); }, "");
  target_g.visit_state([&](const nn::state_ref<float, cuda_t>& s) { if (s.value) g.push_back(s.value); }, "");
  REQUIRE(c.size() == g.size());
  for (std::size_t k = 0; k < c.size(); ++k) check_close(*c[k], *g[k], 1e-6, "ema entry " + std::to_string(k));
}

TEST_CASE_TEMPLATE("cuda normalized_mse matches the cpu: value, dp, mean cosine, errors", T, float, double) {
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  for (const bool swap : {true, false}) {
    const auto p = random_host<T>(shape{64, 32}, 21), t = random_host<T>(shape{64, 32}, 22);
    const loss::normalized_mse<T> lc({.swap_halves = swap});
    const loss::normalized_mse<T, cuda_t> lg({.swap_halves = swap});
    const auto rc = lc(p, t);
    const auto rg = lg(to_device(p), to_device(t));
    CHECK(rg.value == doctest::Approx(rc.value).epsilon(tol));
    CHECK(rg.mean_cosine == doctest::Approx(rc.mean_cosine).epsilon(tol));
    check_close(rc.dp, rg.dp, tol, "normalized_mse dp");
  }
  tensor<T> zero_row(shape{2, 2}, {T(1), T(0), T(0), T(0)});
  using device_loss = loss::normalized_mse<T, cuda_t>;
  CHECK_THROWS_WITH_AS((void)device_loss()(to_device(zero_row), to_device(zero_row)),
                       doctest::Contains("normalized_mse (predictions): row 1"), value_error);
}

TEST_CASE("cuda byol step equals the cpu: online gradients, then the target's momentum update") {
  const auto make = [](auto backend_tag) {
    using B = decltype(backend_tag);
    using mlp = head::mlp<float, B>;
    return methods::byol<mlp, mlp, mlp>{mlp::v1({.in = 12, .hidden = 32, .out = 16, .seed = 1}),
                                        mlp::v1({.in = 16, .hidden = 32, .out = 8, .seed = 2}),
                                        mlp::v1({.in = 8, .hidden = 32, .out = 8, .seed = 3}),
                                        {.base_momentum = 0.9}};
  };
  auto c = make(cpu_t{});
  auto g = make(cuda_t{});
  parity::copy_state<float>(c, g);
  const auto views = random_host(shape{16, 12}, 5);
  const auto mc = c.forward_backward(views);
  const auto mg = g.forward_backward(to_device(views));
  CHECK(mg.loss == doctest::Approx(mc.loss).epsilon(1e-5));
  c.after_step(0, 10);
  g.after_step(0, 10);
  parity::check_state<float>(c, g, 1e-4);  // online values and grads, target (buffers)
}

TEST_CASE("cuda moco step equals the cpu: two views and multi-crop, the queue wrapping") {
  const auto make = [](auto backend_tag) {
    using B = decltype(backend_tag);
    using mlp = head::mlp<float, B>;
    return methods::moco<mlp, mlp>{mlp::v1({.in = 12, .hidden = 32, .out = 16, .seed = 1}),
                                   mlp::v1({.in = 16, .hidden = 32, .out = 8, .seed = 2}),
                                   {.momentum = 0.9, .queue_size = 40}};
  };
  auto c = make(cpu_t{});
  auto g = make(cuda_t{});
  parity::copy_state<float>(c, g);
  const auto views = random_host(shape{16, 12}, 6);  // 2N = 16 global views
  const auto crops = random_host(shape{16, 12}, 7);  // 2 small crops of each of the N = 8
  for (int step = 0; step < 4; ++step) {  // 16 keys a step into 40 places: wraps in step 2
    CAPTURE(step);
    const bool multi = step == 1;
    const auto mc = multi ? c.forward_backward(views, crops) : c.forward_backward(views);
    const auto mg = multi ? g.forward_backward(to_device(views), to_device(crops))
                          : g.forward_backward(to_device(views));
    CHECK(mg.loss == doctest::Approx(mc.loss).epsilon(1e-5));
    c.after_step(step, 10);
    g.after_step(step, 10);
    CHECK(g.queued() == c.queued());
    CHECK(g.queue_position() == c.queue_position());
  }
  CHECK(c.queued() == 40);
  parity::check_state<float>(c, g, 1e-4);  // online, key network, queue, counters
}
