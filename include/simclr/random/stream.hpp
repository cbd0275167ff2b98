// simclr::random::key and stream: keyed, counter-based random streams for host and device.
#pragma once

#include <cmath>
#include <cstdint>

#include <simclr/config.hpp>
#include <simclr/random/philox.hpp>

namespace simclr::random {

/// The identity of a random stream. Made from a seed and refined with `fold_in` by stream ids
/// (epoch, sample, view, op, ...): `key(seed).fold_in(epoch).fold_in(sample)`. Two different id
/// paths give statistically independent streams; the same path gives the same numbers on any
/// thread, in any order, on host or device.
class key {
 public:
  SIMCLR_HOST_DEVICE constexpr key() : k_{{0u, 0u}} {}
  SIMCLR_HOST_DEVICE constexpr explicit key(std::uint64_t seed)
      : k_{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}} {}
  SIMCLR_HOST_DEVICE constexpr explicit key(key2 raw) : k_(raw) {}

  /// A child key for the id `data` (hash of this key and `data` through Philox).
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr key fold_in(std::uint64_t data) const {
    const block4 out = philox4x32(
        block4{{static_cast<std::uint32_t>(data), static_cast<std::uint32_t>(data >> 32),
                0x5EED5EEDu, 0xF01D1D00u}},
        k_);
    return key(key2{{out.v[0], out.v[1]}});
  }
  /// The block at counter position `index` of this key's stream.
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr block4 block(std::uint64_t index) const {
    return philox4x32(block4{{static_cast<std::uint32_t>(index),
                              static_cast<std::uint32_t>(index >> 32), 0u, 0u}},
                      k_);
  }
  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr key2 raw() const { return k_; }

  friend constexpr bool operator==(const key&, const key&) = default;

 private:
  key2 k_;
};

/// `key(seed).fold_in(id0).fold_in(id1)...`: the key for (seed, epoch, sample, op, ...).
template <class... Ids>
[[nodiscard]] SIMCLR_HOST_DEVICE constexpr key derive(std::uint64_t seed, Ids... ids) {
  key k(seed);
  ((k = k.fold_in(static_cast<std::uint64_t>(ids))), ...);
  return k;
}

/// A float in [0, 1) from the top 24 bits of `x` (every value exactly representable).
[[nodiscard]] SIMCLR_HOST_DEVICE constexpr float to_unit_float(std::uint32_t x) {
  return static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
}
/// A double in [0, 1) from 53 bits of `hi`, `lo`.
[[nodiscard]] SIMCLR_HOST_DEVICE constexpr double to_unit_double(std::uint32_t hi,
                                                                 std::uint32_t lo) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits & ((std::uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/// The `index`-th standard normal of the key's stream, computed independently of all others
/// (Box–Muller on one Philox block): lets a parallel fill give the same numbers on any thread.
template <class T>
[[nodiscard]] SIMCLR_HOST_DEVICE T normal_at(const key& k, std::uint64_t index) {
  const block4 b = k.block(index);
  const double u1 = 1.0 - to_unit_double(b.v[0], b.v[1]);  // (0, 1]
  const double u2 = to_unit_double(b.v[2], b.v[3]);
  return static_cast<T>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}
/// The `index`-th uniform in [0, 1) of the key's stream, computed independently of all others.
template <class T>
[[nodiscard]] SIMCLR_HOST_DEVICE T uniform_at(const key& k, std::uint64_t index) {
  const block4 b = k.block(index);
  if constexpr (sizeof(T) <= 4) {
    return static_cast<T>(to_unit_float(b.v[0]));
  } else {
    return static_cast<T>(to_unit_double(b.v[0], b.v[1]));
  }
}

/// A sequential generator over one key's stream: 4 words per Philox block, consumed in order.
/// Cheap to construct; make one per (sample, op) from a derived key rather than sharing one
/// across threads.
class stream {
 public:
  SIMCLR_HOST_DEVICE constexpr explicit stream(key k) : key_(k) {}

  /// The next 32 random bits.
  SIMCLR_HOST_DEVICE constexpr std::uint32_t next_u32() {
    if (used_ == 4) {
      buffer_ = key_.block(position_++);
      used_ = 0;
    }
    return buffer_.v[used_++];
  }
  /// Uniform in [0, 1).
  SIMCLR_HOST_DEVICE constexpr float uniform() { return to_unit_float(next_u32()); }
  /// Uniform in [lo, hi).
  SIMCLR_HOST_DEVICE constexpr float uniform(float lo, float hi) {
    return lo + (hi - lo) * uniform();
  }
  /// Uniform in [0, 1) with 53 random bits.
  SIMCLR_HOST_DEVICE constexpr double uniform_double() {
    const std::uint32_t hi = next_u32();
    return to_unit_double(hi, next_u32());
  }
  /// True with probability `p`.
  SIMCLR_HOST_DEVICE constexpr bool bernoulli(double p) { return uniform_double() < p; }
  /// Uniform integer in [0, n), unbiased (rejection sampling); n must be ≥ 1.
  SIMCLR_HOST_DEVICE constexpr std::uint32_t uniform_int(std::uint32_t n) {
    const std::uint32_t limit = static_cast<std::uint32_t>(-n) % n;  // 2^32 mod n
    for (;;) {
      const std::uint32_t x = next_u32();
      const std::uint64_t m = static_cast<std::uint64_t>(x) * n;
      if (static_cast<std::uint32_t>(m) >= limit) return static_cast<std::uint32_t>(m >> 32);
    }
  }
  /// Standard normal (Box–Muller; both values of a pair are used).
  SIMCLR_HOST_DEVICE double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform_double();  // (0, 1]
    const double u2 = uniform_double();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(6.283185307179586 * u2);
    has_spare_ = true;
    return r * std::cos(6.283185307179586 * u2);
  }

  [[nodiscard]] SIMCLR_HOST_DEVICE constexpr const key& stream_key() const { return key_; }

 private:
  key key_;
  std::uint64_t position_ = 0;
  block4 buffer_{};
  int used_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace simclr::random
