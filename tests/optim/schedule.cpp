// Tests of the learning-rate schedules and the batch-size scaling rules.
#include <simclr/optim/schedule.hpp>

#include <cmath>
#include <numbers>

#include <doctest/doctest.h>

using namespace simclr;
using namespace simclr::optim;

TEST_CASE("schedule: linear and square-root learning-rate scaling") {
  CHECK(simclr_learning_rate(256, lr_scaling::linear) == doctest::Approx(0.3));
  CHECK(simclr_learning_rate(4096, lr_scaling::linear) == doctest::Approx(4.8));
  CHECK(simclr_learning_rate(4096, lr_scaling::sqrt) == doctest::Approx(4.8));  // 0.075·64
  CHECK(simclr_learning_rate(512, lr_scaling::sqrt) == doctest::Approx(0.075 * std::sqrt(512.0)));
  CHECK(scaled_learning_rate(1.0, 128, lr_scaling::linear) == doctest::Approx(0.5));
  CHECK_THROWS_AS((void)scaled_learning_rate(0.3, 0, lr_scaling::linear), value_error);
  CHECK_THROWS_AS((void)scaled_learning_rate(-0.3, 8, lr_scaling::sqrt), value_error);
}

TEST_CASE("schedule: warm-up then cosine decay to 0 - per step") {
  const warmup_cosine_schedule s{.peak_lr = 2.0, .warmup_steps = 10, .total_steps = 110};
  CHECK(s(0) == 0.0);
  CHECK(s(1) == doctest::Approx(0.2));
  CHECK(s(5) == doctest::Approx(1.0));
  CHECK(s(10) == doctest::Approx(2.0));
  CHECK(s(60) == doctest::Approx(1.0));  // half-way through the decay: ½(1 + cos π/2)
  CHECK(s(35) == doctest::Approx(1.0 + std::cos(std::numbers::pi / 4.0)));
  CHECK(s(109) == doctest::Approx(1.0 * (1.0 + std::cos(std::numbers::pi * 99.0 / 100.0))));
  CHECK(s(110) == 0.0);
  CHECK(s(1000) == 0.0);
  for (std::int64_t t = 10; t < 110; ++t) CHECK(s(t + 1) <= s(t));  // monotone decay
  // From epochs: 10 warm-up epochs of 390 steps out of 100 epochs, still per step.
  const auto e = warmup_cosine_schedule::from_epochs(1.5, 10, 100, 390);
  CHECK(e.warmup_steps == 3900);
  CHECK(e.total_steps == 39000);
  CHECK(e(3900) == doctest::Approx(1.5));
  CHECK(e(3901) < e(3900));  // decays within an epoch, not per epoch
  CHECK(e(1950) == doctest::Approx(0.75));
  const warmup_cosine_schedule no_warmup{.peak_lr = 1.0, .warmup_steps = 0, .total_steps = 4};
  CHECK(no_warmup(0) == 1.0);
  CHECK(no_warmup(2) == doctest::Approx(0.5));
  CHECK_THROWS_AS((void)warmup_cosine_schedule({.peak_lr = 1, .warmup_steps = 5, .total_steps = 4})(0),
                  value_error);
  CHECK_THROWS_AS((void)s(-1), value_error);
  CHECK_THROWS_AS((void)warmup_cosine_schedule::from_epochs(1.0, 1, 10, 0), value_error);
}

TEST_CASE("schedule: constant and step decay") {
  CHECK(constant_schedule{0.25}(0) == 0.25);
  CHECK(constant_schedule{0.25}(123456) == 0.25);
  const step_decay_schedule s{.lr = 1.0, .gamma = 0.1, .milestones = {30, 60}};
  CHECK(s(0) == 1.0);
  CHECK(s(29) == 1.0);
  CHECK(s(30) == doctest::Approx(0.1));
  CHECK(s(59) == doctest::Approx(0.1));
  CHECK(s(60) == doctest::Approx(0.01));
  const auto every = step_decay_schedule::every(0.5, 0.5, 10, 35);
  CHECK(every.milestones == std::vector<std::int64_t>{10, 20, 30});
  CHECK(every(25) == doctest::Approx(0.125));
  const step_decay_schedule bad{.lr = 1.0, .gamma = 0.1, .milestones = {60, 30}};
  CHECK_THROWS_AS((void)bad(0), value_error);
  CHECK_THROWS_AS((void)step_decay_schedule::every(1.0, 0.1, 0, 10), value_error);
}
