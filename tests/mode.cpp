#include <simclr/mode.hpp>
#include <simclr/config.hpp>

#include <cstddef>
#include <type_traits>

#include <doctest/doctest.h>

TEST_CASE("mode and config: the basic vocabulary") {
  CHECK(simclr::mode::train != simclr::mode::eval);
  static_assert(std::is_same_v<simclr::index_t, std::ptrdiff_t>);
  CHECK(simclr::version_major == SIMCLR_VERSION_MAJOR);
}
