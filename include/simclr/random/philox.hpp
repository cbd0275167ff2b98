// simclr::random::philox4x32: the Philox-4x32 counter-based block function (Salmon et al., SC'11).
#pragma once

#include <cstdint>

#include <simclr/config.hpp>

namespace simclr::random {

/// Four 32-bit words: a Philox counter or output block.
struct block4 {
  std::uint32_t v[4];
  friend constexpr bool operator==(const block4&, const block4&) = default;
};

/// Two 32-bit words: a Philox key.
struct key2 {
  std::uint32_t v[2];
  friend constexpr bool operator==(const key2&, const key2&) = default;
};

namespace detail {
SIMCLR_HOST_DEVICE constexpr void mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                            std::uint32_t& lo) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b);
  hi = static_cast<std::uint32_t>(p >> 32);
  lo = static_cast<std::uint32_t>(p);
}
}  // namespace detail

/// Philox-4x32 with `Rounds` rounds (10 is the standard, crush-resistant choice): a bijection of
/// the 128-bit counter for each 64-bit key. Pure function, usable on host and device; matches
/// the Random123 reference (known-answer vectors in tests/random/philox.cpp).
template <int Rounds = 10>
SIMCLR_HOST_DEVICE constexpr block4 philox4x32(block4 ctr, key2 key) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int r = 0; r < Rounds; ++r) {
    if (r > 0) {
      key.v[0] += w0;
      key.v[1] += w1;
    }
    std::uint32_t hi0 = 0, lo0 = 0, hi1 = 0, lo1 = 0;
    detail::mulhilo32(m0, ctr.v[0], hi0, lo0);
    detail::mulhilo32(m1, ctr.v[2], hi1, lo1);
    ctr = block4{{hi1 ^ ctr.v[1] ^ key.v[0], lo1, hi0 ^ ctr.v[3] ^ key.v[1], lo0}};
  }
  return ctr;
}

}  // namespace simclr::random
