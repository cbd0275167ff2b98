// Tests of simclr::optim::lars: hand-computed steps, exclusion by role (never by name), state.
#include <simclr/optim/lars.hpp>

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/concepts.hpp>

using namespace simclr;

static_assert(optimizer<optim::lars<float>, float, cpu_t>);
static_assert(optimizer<optim::lars<double>, double, cpu_t>);

namespace {
struct toy_model {  // a weight, a bias and a BN scale, each with its gradient
  tensor<double> w{shape{2}, {3.0, 4.0}}, gw{shape{2}};
  tensor<double> b{shape{2}, {1.0, -1.0}}, gb{shape{2}};
  tensor<double> s{shape{2}, {1.0, -1.0}}, gs{shape{2}};
  std::vector<parameter<double>> params(const char* w_name, const char* b_name, const char* s_name) {
    return {{w_name, parameter_role::weight, &w, &gw},
            {b_name, parameter_role::bias, &b, &gb},
            {s_name, parameter_role::norm_scale, &s, &gs}};
  }
  void set_grads(std::initializer_list<double> g_w, std::initializer_list<double> g_b) {
    std::copy(g_w.begin(), g_w.end(), gw.data());
    std::copy(g_b.begin(), g_b.end(), gb.data());
    std::copy(g_b.begin(), g_b.end(), gs.data());
  }
};
}  // namespace

TEST_CASE("lars: two hand-computed steps - weights scaled by trust - bias and BN excluded") {
  // w = (3, 4), g = (1, −2), wd = 0.01, η = 0.001, m = 0.9, lr = 0.5:
  //   d = g + wd·w = (1.03, −1.96), trust = η·‖w‖/‖d‖ = 0.005/2.2141589... = 0.00225819...,
  //   v = lr·trust·d, w ← w − v. Step 2 with g = (0.5, 0.5), lr = 0.25: v = m·v + lr·trust·d.
  // Bias and BN scale (1, −1) with g = (0.5, 0.5) then (−1, 2): no decay, trust 1:
  //   v = (0.25, 0.25) → (0.75, −1.25); v = 0.9·v + 0.25·(−1, 2) = (−0.025, 0.725) → (0.775, −1.975).
  toy_model m;
  const auto params = m.params("encoder.fc.weight", "encoder.fc.bias", "encoder.bn1.weight");
  optim::lars<double> opt({.momentum = 0.9, .weight_decay = 0.01, .eta = 0.001});
  m.set_grads({1.0, -2.0}, {0.5, 0.5});
  CHECK(opt.trust_ratio(params[0]) == doctest::Approx(0.0022581937608857246).epsilon(1e-14));
  CHECK(opt.trust_ratio(params[1]) == 1.0);
  CHECK(opt.trust_ratio(params[2]) == 1.0);
  opt.step(params, 0.5);
  CHECK(m.w(0) == doctest::Approx(2.998837030213144).epsilon(1e-15));
  CHECK(m.w(1) == doctest::Approx(4.002213029885668).epsilon(1e-15));
  CHECK(m.b(0) == 0.75);
  CHECK(m.b(1) == -1.25);
  CHECK(m.s(0) == 0.75);
  m.set_grads({0.5, 0.5}, {-1.0, 2.0});
  opt.step(params, 0.25);
  CHECK(m.w(0) == doctest::Approx(2.9969146129013753).epsilon(1e-15));
  CHECK(m.w(1) == doctest::Approx(4.003312432650901).epsilon(1e-15));
  CHECK(m.b(0) == doctest::Approx(0.775).epsilon(1e-15));
  CHECK(m.b(1) == doctest::Approx(-1.975).epsilon(1e-15));
  CHECK(m.s(1) == doctest::Approx(-1.975).epsilon(1e-15));
  CHECK(opt.steps() == 2);
}

TEST_CASE("lars: exclusion follows the role - not the name") {
  // Misleading names: a weight named like a BN bias still gets decay and trust; a bias named
  // like a conv weight does not.
  toy_model a, b;
  const auto pa = a.params("w", "b", "s");
  const auto pb = b.params("bn1.bias", "conv1.weight", "layer1.0.conv1.weight");
  optim::lars<double> oa({.weight_decay = 0.01}), ob({.weight_decay = 0.01});
  a.set_grads({1.0, -2.0}, {0.5, 0.5});
  b.set_grads({1.0, -2.0}, {0.5, 0.5});
  oa.step(pa, 0.5);
  ob.step(pb, 0.5);
  for (index_t i = 0; i < 2; ++i) {
    CHECK(a.w(i) == b.w(i));
    CHECK(a.b(i) == b.b(i));
    CHECK(a.s(i) == b.s(i));
  }
  // Changing a role changes the update.
  toy_model c;
  auto pc = c.params("w", "b", "s");
  pc[1].role = parameter_role::weight;
  c.set_grads({1.0, -2.0}, {0.5, 0.5});
  optim::lars<double>({.weight_decay = 0.01}).step(pc, 0.5);
  CHECK(c.b(0) != doctest::Approx(a.b(0)));
}

TEST_CASE("lars: zero norms give trust 1 - zero weight decay uses the raw gradient") {
  tensor<double> w(shape{3}), g(shape{3}, {1.0, 2.0, 2.0});
  std::vector<parameter<double>> p{{"w", parameter_role::weight, &w, &g}};
  optim::lars<double> opt({.momentum = 0.0, .weight_decay = 0.0, .eta = 0.001});
  CHECK(opt.trust_ratio(p[0]) == 1.0);  // ‖w‖ = 0
  opt.step(p, 0.1);
  CHECK(w(0) == doctest::Approx(-0.1));
  CHECK(w(2) == doctest::Approx(-0.2));
  // ‖w‖ = 0.3, ‖g‖ = 3: trust = 0.001·0.3/3 = 1e-4.
  CHECK(opt.trust_ratio(p[0]) == doctest::Approx(1e-4).epsilon(1e-12));
  g.fill(0.0);
  CHECK(opt.trust_ratio(p[0]) == 1.0);  // ‖g‖ = 0
}

TEST_CASE("lars: state copied into a fresh optimizer continues bit-identically") {
  tensor<float> w1(shape{4, 3}), g(shape{4, 3}), b1(shape{3}), gb(shape{3});
  for (index_t i = 0; i < 12; ++i) w1.data()[i] = 0.1f * static_cast<float>(i) - 0.4f;
  for (index_t i = 0; i < 3; ++i) b1.data()[i] = 0.3f * static_cast<float>(i);
  auto w2 = w1, b2 = b1;
  std::vector<parameter<float>> p1{{"fc.weight", parameter_role::weight, &w1, &g},
                                   {"fc.bias", parameter_role::bias, &b1, &gb}};
  std::vector<parameter<float>> p2{{"fc.weight", parameter_role::weight, &w2, &g},
                                   {"fc.bias", parameter_role::bias, &b2, &gb}};
  auto grads = [&](int t) {
    for (index_t i = 0; i < 12; ++i) g.data()[i] = std::sin(static_cast<float>(i + 7 * t));
    for (index_t i = 0; i < 3; ++i) gb.data()[i] = std::cos(static_cast<float>(i + 3 * t));
  };
  optim::lars<float> a({.weight_decay = 1e-4});
  for (int t = 0; t < 3; ++t) {
    grads(t);
    a.step(p1, 0.3);
  }
  w2 = w1;
  b2 = b1;
  optim::lars<float> b({.weight_decay = 1e-4});
  b.bind(p2);
  auto sa = a.state();
  auto sb = b.state();
  REQUIRE(sa.tensors.size() == 2);
  REQUIRE(sb.tensors.size() == 2);
  CHECK(sa.tensors[0].name == "fc.weight.momentum");
  CHECK(sa.tensors[1].name == "fc.bias.momentum");
  for (std::size_t k = 0; k < sa.tensors.size(); ++k) {
    CHECK(sb.tensors[k].name == sa.tensors[k].name);
    *sb.tensors[k].value = *sa.tensors[k].value;
  }
  *sb.steps = *sa.steps;
  CHECK(b.steps() == 3);
  for (int t = 3; t < 6; ++t) {
    grads(t);
    a.step(p1, 0.3);
    b.step(p2, 0.3);
  }
  CHECK(std::equal(w1.values().begin(), w1.values().end(), w2.values().begin()));
  CHECK(std::equal(b1.values().begin(), b1.values().end(), b2.values().begin()));
  // Without the state, the continuation differs.
  auto w3 = w2;
  std::vector<parameter<float>> p3{{"fc.weight", parameter_role::weight, &w3, &g},
                                   {"fc.bias", parameter_role::bias, &b2, &gb}};
  optim::lars<float> fresh({.weight_decay = 1e-4});
  fresh.step(p3, 0.3);
  a.step(p1, 0.3);
  CHECK_FALSE(std::equal(w1.values().begin(), w1.values().end(), w3.values().begin()));
}

TEST_CASE("lars: bad options and a changed parameter list are reported") {
  CHECK_THROWS_AS(optim::lars<float>({.momentum = 1.0}), value_error);
  CHECK_THROWS_AS(optim::lars<float>({.weight_decay = -1.0}), value_error);
  CHECK_THROWS_AS(optim::lars<float>({.eta = 0.0}), value_error);
  tensor<float> w(shape{2}), g(shape{2}), g_bad(shape{3});
  std::vector<parameter<float>> p{{"w", parameter_role::weight, &w, &g}};
  optim::lars<float> opt;
  CHECK_THROWS_AS(opt.step(p, -0.1), value_error);
  opt.step(p, 0.1);
  std::vector<parameter<float>> renamed{{"v", parameter_role::weight, &w, &g}};
  CHECK_THROWS_WITH_AS(opt.step(renamed, 0.1), doctest::Contains("bound to 'w'"), value_error);
  std::vector<parameter<float>> more{p[0], p[0]};
  CHECK_THROWS_AS(opt.step(more, 0.1), value_error);
  std::vector<parameter<float>> mismatched{{"w", parameter_role::weight, &w, &g_bad}};
  CHECK_THROWS_AS(optim::lars<float>().step(mismatched, 0.1), shape_error);
  std::vector<parameter<float>> no_grad{{"w", parameter_role::weight, &w, nullptr}};
  CHECK_THROWS_WITH_AS(optim::lars<float>().step(no_grad, 0.1), doctest::Contains("no gradient"),
                       value_error);
}
