// Tests of simclr::optim::sgd and simclr::optim::adamw against torch.optim trajectories, weight
// decay by role, and exact resume from saved state.
#include <simclr/optim/adamw.hpp>
#include <simclr/optim/sgd.hpp>

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>
#include <support/loss_fixtures.hpp>

using namespace simclr;

static_assert(optimizer<optim::sgd<float>, float, cpu_t>);
static_assert(optimizer<optim::adamw<double>, double, cpu_t>);

namespace {

/// Runs the fixture's three steps with optimizer `opt` on a (3, 4) weight and a (4,) bias and
/// checks each step (torch puts weight decay on the weight group only; simclr by role).
template <class Opt>
void replay(const nlohmann::json& c, Opt& opt) {
  auto w = test::fixture_tensor(c["weight0"], shape{3, 4});
  auto b = test::fixture_tensor(c["bias0"], shape{4});
  tensor<double> gw(shape{3, 4}), gb(shape{4});
  const std::vector<parameter<double>> params{{"fc.weight", parameter_role::weight, &w, &gw},
                                              {"fc.bias", parameter_role::bias, &b, &gb}};
  int k = 0;
  for (const auto& s : c["steps"]) {
    CAPTURE(k);
    gw = test::fixture_tensor(s["grad_weight"], shape{3, 4});
    gb = test::fixture_tensor(s["grad_bias"], shape{4});
    opt.step(params, s["lr"].get<double>());
    CHECK(test::max_relative_error(w, test::fixture_tensor(s["weight"], shape{3, 4}), 1e-6) <= 1e-12);
    CHECK(test::max_relative_error(b, test::fixture_tensor(s["bias"], shape{4}), 1e-6) <= 1e-12);
    ++k;
  }
}

double opt_value(const nlohmann::json& o, const char* key, double fallback) {
  return o.contains(key) ? o[key].get<double>() : fallback;
}

}  // namespace

TEST_CASE("sgd and adamw: three steps match torch.optim (float64 fixtures)") {
  const auto fx = test::read_fixture(SIMCLR_OPTIM_FIXTURES, "torch_optim.json");
  int sgd_cases = 0, adamw_cases = 0;
  for (const auto& c : fx["cases"]) {
    const auto& o = c["options"];
    CAPTURE(o.dump());
    if (c["optimizer"] == "sgd") {
      ++sgd_cases;
      optim::sgd<double> opt({.momentum = opt_value(o, "momentum", 0.0),
                              .dampening = opt_value(o, "dampening", 0.0),
                              .nesterov = o.contains("nesterov") && o["nesterov"].get<bool>(),
                              .weight_decay = opt_value(o, "weight_decay", 0.0)});
      replay(c, opt);
      CHECK(opt.steps() == 3);
    } else {
      ++adamw_cases;
      optim::adamw<double> opt({.beta1 = opt_value(o, "beta1", 0.9),
                                .beta2 = opt_value(o, "beta2", 0.999),
                                .eps = opt_value(o, "eps", 1e-8),
                                .weight_decay = opt_value(o, "weight_decay", 1e-2)});
      replay(c, opt);
    }
  }
  CHECK(sgd_cases == 4);
  CHECK(adamw_cases == 2);
}

TEST_CASE("sgd: a hand-computed Nesterov step - and decay of every role on request") {
  tensor<double> w(shape{2}, {1.0, -2.0}), g(shape{2}, {0.5, 0.25});
  tensor<double> b(shape{1}, {1.0}), gb(shape{1}, {0.0});
  const std::vector<parameter<double>> p{{"w", parameter_role::weight, &w, &g},
                                         {"b", parameter_role::bias, &b, &gb}};
  optim::sgd<double> opt({.momentum = 0.9, .nesterov = true, .weight_decay = 0.1});
  // Step 1: d = g + 0.1·w = (0.6, 0.05); buf = d; d ← d + 0.9·buf = (1.14, 0.095); w −= 0.1·d.
  opt.step(p, 0.1);
  CHECK(w(0) == doctest::Approx(1.0 - 0.114).epsilon(1e-15));
  CHECK(w(1) == doctest::Approx(-2.0 - 0.0095).epsilon(1e-15));
  CHECK(b(0) == 1.0);  // bias: no decay, zero gradient
  optim::sgd<double> all({.weight_decay = 0.1, .decay_all_roles = true});
  all.step(p, 0.1);
  CHECK(b(0) == doctest::Approx(1.0 - 0.01).epsilon(1e-15));
  CHECK_THROWS_AS(optim::sgd<double>({.momentum = 0.0, .nesterov = true}), value_error);
  CHECK_THROWS_AS(optim::sgd<double>({.momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                  value_error);
  CHECK_THROWS_AS(optim::sgd<double>({.momentum = -0.1}), value_error);
}

TEST_CASE("adamw: decoupled decay applies by role - and the state has PyTorch's slot names") {
  tensor<float> w(shape{2}, {1.0f, -1.0f}), g(shape{2}), b(shape{2}, {1.0f, -1.0f}), gb(shape{2});
  const std::vector<parameter<float>> p{{"fc.weight", parameter_role::weight, &w, &g},
                                        {"bn.weight", parameter_role::norm_scale, &b, &gb}};
  optim::adamw<float> opt({.weight_decay = 0.5});
  opt.step(p, 0.1);  // zero gradients: only the decay moves w; b does not move
  CHECK(w(0) == doctest::Approx(0.95f));
  CHECK(b(0) == 1.0f);
  const auto st = opt.state();
  REQUIRE(st.tensors.size() == 4);
  CHECK(st.tensors[0].name == "fc.weight.exp_avg");
  CHECK(st.tensors[1].name == "fc.weight.exp_avg_sq");
  CHECK(st.tensors[3].name == "bn.weight.exp_avg_sq");
  CHECK(*st.steps == 1);
  CHECK_THROWS_AS(optim::adamw<float>({.eps = 0.0}), value_error);
  CHECK_THROWS_AS(optim::adamw<float>({.beta2 = 1.0}), value_error);
}

TEST_CASE("sgd and adamw: state copied into a fresh optimizer continues bit-identically") {
  auto check_resume = [](auto make) {
    tensor<float> w1(shape{5}), g(shape{5});
    for (index_t i = 0; i < 5; ++i) w1.data()[i] = 0.2f * static_cast<float>(i) - 0.3f;
    auto w2 = w1;
    const std::vector<parameter<float>> p1{{"w", parameter_role::weight, &w1, &g}};
    const std::vector<parameter<float>> p2{{"w", parameter_role::weight, &w2, &g}};
    auto grads = [&](int t) {
      for (index_t i = 0; i < 5; ++i) g.data()[i] = std::sin(static_cast<float>(3 * i + t));
    };
    auto a = make();
    for (int t = 0; t < 4; ++t) {
      grads(t);
      a.step(p1, 0.05);
    }
    w2 = w1;
    auto b = make();
    b.bind(p2);
    auto sa = a.state();
    auto sb = b.state();
    REQUIRE(sa.tensors.size() == sb.tensors.size());
    REQUIRE(!sa.tensors.empty());
    for (std::size_t k = 0; k < sa.tensors.size(); ++k) *sb.tensors[k].value = *sa.tensors[k].value;
    *sb.steps = *sa.steps;
    for (int t = 4; t < 8; ++t) {
      grads(t);
      a.step(p1, 0.05);
      b.step(p2, 0.05);
    }
    CHECK(std::equal(w1.values().begin(), w1.values().end(), w2.values().begin()));
  };
  check_resume([] { return optim::sgd<float>({.momentum = 0.9, .weight_decay = 1e-3}); });
  check_resume([] { return optim::sgd<float>({.momentum = 0.9, .nesterov = true}); });
  check_resume([] { return optim::adamw<float>(); });
}
