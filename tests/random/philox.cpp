// Known-answer tests: the vectors of the Random123 distribution (kat_vectors), Philox4x32.
#include <simclr/random/philox.hpp>

#include <doctest/doctest.h>

using simclr::random::block4;
using simclr::random::key2;
using simclr::random::philox4x32;

TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors") {
  CHECK(philox4x32<10>({{0, 0, 0, 0}}, {{0, 0}}) ==
        block4{{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}});
  CHECK(philox4x32<10>({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                       {{0xffffffffu, 0xffffffffu}}) ==
        block4{{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}});
  CHECK(philox4x32<10>({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                       {{0xa4093822u, 0x299f31d0u}}) ==
        block4{{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}});
}

TEST_CASE("philox4x32-7 matches the Random123 known-answer vectors") {
  CHECK(philox4x32<7>({{0, 0, 0, 0}}, {{0, 0}}) ==
        block4{{0x5f6fb709u, 0x0d893f64u, 0x4f121f81u, 0x4f730a48u}});
  CHECK(philox4x32<7>({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                      {{0xffffffffu, 0xffffffffu}}) ==
        block4{{0x5207ddc2u, 0x45165e59u, 0x4d8ee751u, 0x8c52f662u}});
  CHECK(philox4x32<7>({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
                      {{0xa4093822u, 0x299f31d0u}}) ==
        block4{{0x4dfccabau, 0x190a87f0u, 0xc47362bau, 0xb6b5242au}});
}

TEST_CASE("philox4x32 is usable in constant expressions") {
  constexpr block4 b = philox4x32({{0, 0, 0, 0}}, {{0, 0}});
  static_assert(b.v[0] == 0x6627e8d5u);
  CHECK(b.v[3] == 0x9b00dbd8u);
}
