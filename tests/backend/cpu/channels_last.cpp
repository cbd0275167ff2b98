// The channel-last buffers of the direct convolution kernels (simclr/nn/cpu/channels_last.hpp):
// in and out again unchanged, the border zero, where a (tap, channel vector) pair lies, the
// shortcut's add and BatchNorm's moments on the way out, the switch and the alignment.
#include <simclr/nn/cpu/channels_last.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <doctest/doctest.h>

#include "support/layer_check.hpp"

using namespace simclr;

TEST_CASE("channels_last: an image goes in bordered and comes out unchanged") {
  const index_t c = 16, h = 5, w = 7, pad = 2, wp = w + 2 * pad, hp = h + 2 * pad;
  std::vector<float> image(static_cast<std::size_t>(c * h * w));
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = 0.5f + static_cast<float>(i);
  std::vector<float> plane(image.size()), xp(static_cast<std::size_t>(hp * wp * c), -1.0f);
  nn::channels_last::pad(c, h, w, pad, image.data(), plane.data(), xp.data());
  for (index_t y = 0; y < hp; ++y)
    for (index_t x = 0; x < wp; ++x)
      for (index_t ch = 0; ch < c; ++ch) {
        const bool inside = y >= pad && y < h + pad && x >= pad && x < w + pad;
        const float want =
            inside ? image[static_cast<std::size_t>((ch * h + y - pad) * w + x - pad)] : 0.0f;
        REQUIRE(xp[static_cast<std::size_t>((y * wp + x) * c + ch)] == want);
      }
  // Back out: the interior cropped, transposed channel-first, with an add and the moments.
  std::vector<float> back(image.size()), add(image.size(), 0.25f);
  std::vector<nn::plane_moments> pm(static_cast<std::size_t>(c));
  nn::channels_last::crop(c, h, w, xp.data() + (pad * wp + pad) * c, wp, plane.data());
  nn::channels_last::to_channels_first(c, h * w, plane.data(), back.data(), add.data(), pm.data(),
                                       current_cpu_isa());
  for (std::size_t i = 0; i < image.size(); ++i) CHECK(back[i] == image[i] + 0.25f);
  simclr::detail::with_isa(current_cpu_isa(), [&](auto bytes) {
    constexpr std::size_t W = decltype(bytes)::value;
    for (index_t ch = 0; ch < c; ++ch) {
      const auto m = nn::cpu_moments::plane<W>(back.data() + ch * h * w, h * w);
      CHECK(std::memcmp(&m, &pm[static_cast<std::size_t>(ch)], sizeof m) == 0);
    }
  });
}

TEST_CASE("channels_last: pair offsets, buffer alignment, the switch") {
  const auto g = test::square_window(2, 32, 6, 3, 1, 1);  // 8 × 8 bordered, 2 vectors per pixel
  CHECK(nn::channels_last::padded_floats(g) == 8 * 8 * 32);
  CHECK(nn::channels_last::pair_offset(g, 0) == 0);
  CHECK(nn::channels_last::pair_offset(g, 1) == 16);           // tap 0, second vector
  CHECK(nn::channels_last::pair_offset(g, 2) == 32);           // tap 1 (kx = 1)
  CHECK(nn::channels_last::pair_offset(g, 7) == 8 * 32 + 16);  // tap 3 (ky = 1), vector 1
  std::vector<float> store(64);
  for (index_t shift = 0; shift < 4; ++shift) {
    float* p = nn::channels_last::buffer(
        [&](index_t n) {
          CHECK(n == 20 + 16);
          return store.data() + shift;
        },
        20);
    CHECK(reinterpret_cast<std::uintptr_t>(p) % 64 == 0);
    CHECK(p >= store.data() + shift);
    CHECK(p + 20 <= store.data() + shift + 36);
  }
  CHECK(nn::channels_last::enabled());
  setenv("SIMCLR_CONV_DIRECT", "0", 1);
  CHECK_FALSE(nn::channels_last::enabled());
  unsetenv("SIMCLR_CONV_DIRECT");
}
