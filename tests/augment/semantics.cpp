// Tests of <simclr/augment/semantics.hpp>: the parameter checks every op shares.
#include <simclr/augment/semantics.hpp>

#include <limits>
#include <string>

#include <doctest/doctest.h>

using namespace simclr;

TEST_CASE("probabilities outside the unit interval are rejected with their name") {
  CHECK_NOTHROW(augment::detail::check_probability(0.0, "p"));
  CHECK_NOTHROW(augment::detail::check_probability(1.0, "p"));
  CHECK_THROWS_AS(augment::detail::check_probability(1.01, "p"), value_error);
  CHECK_THROWS_AS(augment::detail::check_probability(std::numeric_limits<double>::quiet_NaN(), "p"),
                  value_error);
  try {
    augment::detail::check_probability(-0.5, "flip p");
    FAIL("no exception");
  } catch (const value_error& e) {
    CHECK(std::string(e.what()).find("flip p") != std::string::npos);
  }
}

TEST_CASE("ranges need min at most max") {
  CHECK_NOTHROW(augment::detail::check_range(0.1, 0.1, "r"));
  CHECK_THROWS_AS(augment::detail::check_range(0.5, 0.1, "r"), value_error);
  CHECK_THROWS_AS(augment::detail::check_range(0.0, std::numeric_limits<double>::infinity(), "r"),
                  value_error);
  CHECK(augment::semantics{} == augment::semantics::torchvision);
}
