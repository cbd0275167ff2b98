// optim::ema: the momentum copy of a module, and BYOL's cosine momentum schedule.
#include <simclr/optim/ema.hpp>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/encoders/resnet.hpp>

using namespace simclr;

namespace {
auto small_resnet(std::uint64_t seed, index_t width = 2) {
  return encoders::resnet18<double>(
      {.base_width = width, .in_channels = 1, .stem = encoders::stem::cifar, .seed = seed});
}
template <class M>
std::vector<nn::state_ref<double, cpu_t>> refs(M& m) {
  std::vector<nn::state_ref<double, cpu_t>> out;
  m.visit_state([&](const nn::state_ref<double, cpu_t>& s) { out.push_back(s); }, "");
  return out;
}
}  // namespace

TEST_CASE("ema: cosine_momentum rises from base to 1 along a half cosine") {
  CHECK(optim::cosine_momentum(0.996, 0, 100) == doctest::Approx(0.996));
  CHECK(optim::cosine_momentum(0.996, 50, 100) == doctest::Approx(0.998));
  CHECK(optim::cosine_momentum(0.996, 100, 100) == doctest::Approx(1.0));
  CHECK(optim::cosine_momentum(0.996, 25, 100) ==
        doctest::Approx(1 - 0.004 * (std::cos(3.14159265358979 / 4) + 1) / 2));
  CHECK_THROWS_AS((void)optim::cosine_momentum(1.5, 0, 10), value_error);
}

TEST_CASE("ema: target = m·target + (1−m)·online for parameters and buffers; counters copied") {
  auto online = small_resnet(1), target = small_resnet(2);
  // Give the online BN statistics and counters values of their own.
  tensor<double> x(shape{4, 1, 8, 8});
  for (index_t i = 0; i < x.numel(); ++i) x.data()[i] = double((i * 17) % 23) / 23.0;
  (void)online.forward(x, mode::train);
  const auto before_t = refs(target);
  std::vector<std::vector<double>> t0;
  for (const auto& r : before_t)
    if (r.value) t0.emplace_back(r.value->values().begin(), r.value->values().end());
  optim::ema_update(target, online, 0.9);
  const auto o = refs(online), t = refs(target);
  REQUIRE(o.size() == t.size());
  std::size_t v = 0;
  bool saw_buffer = false, saw_counter = false;
  for (std::size_t k = 0; k < o.size(); ++k) {
    if (o[k].kind == nn::state_kind::counter) {
      CHECK((*t[k].count)() == (*o[k].count)());
      saw_counter = true;
      continue;
    }
    saw_buffer = saw_buffer || o[k].kind == nn::state_kind::buffer;
    for (index_t i = 0; i < o[k].value->numel(); i += 7)
      CHECK(t[k].value->data()[i] ==
            doctest::Approx(0.9 * t0[v][static_cast<std::size_t>(i)] + 0.1 * o[k].value->data()[i]));
    ++v;
  }
  CHECK(saw_buffer);
  CHECK(saw_counter);
  // m = 0 copies the online module exactly; m = 1 leaves the target.
  optim::ema_update(target, online, 0.0);
  for (std::size_t k = 0; k < o.size(); ++k)
    if (o[k].value) CHECK(t[k].value->values()[0] == o[k].value->values()[0]);
}

TEST_CASE("ema: modules built differently, or a momentum outside [0, 1], are refused") {
  auto online = small_resnet(1, 2), other = small_resnet(1, 4);
  CHECK_THROWS_WITH_AS(optim::ema_update(other, online, 0.5), doctest::Contains("shapes differ"),
                       value_error);
  auto same = small_resnet(1, 2);
  CHECK_THROWS_WITH_AS(optim::ema_update(same, online, -0.1),
                       doctest::Contains("momentum is -0.1"), value_error);
}

TEST_CASE("ema: the class keeps a copy whose parameters are buffers (checkpointed, not optimised)") {
  auto online = small_resnet(1);
  optim::ema<decltype(online)> target(online);
  static_assert(module<optim::ema<decltype(online)>>);
  CHECK(nn::parameters_of<double, cpu_t>(target).empty());
  std::size_t n = 0;
  target.visit_state(
      [&](const nn::state_ref<double, cpu_t>& s) {
        CHECK(s.kind != nn::state_kind::parameter);
        ++n;
      },
      "target");
  CHECK(n == refs(online).size());
  // The copy is independent: changing the online module does not move the target until update.
  const auto first = [&] { return refs(target.module())[0].value->data()[0]; };
  const double w0 = first();
  refs(online)[0].value->data()[0] += 1.0;
  CHECK(first() == w0);
  target.update(online, 0.5);
  CHECK(first() == doctest::Approx(w0 + 0.5));
}
