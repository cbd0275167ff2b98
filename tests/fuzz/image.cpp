// libFuzzer target: PNG, JPEG and BMP decoding (libpng, libjpeg-turbo, stb_image's BMP reader
// behind simclr's header checks), as stored and converted to 1 and 3 channels, with a pixel
// limit of 2^20 so one input cannot take seconds.
#include <simclr/io/image.hpp>

#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const int channels : {0, 1, 3}) {
    try {
      const auto img = simclr::io::decode_image(std::span<const std::uint8_t>(data, size), "fuzz",
                                                {.max_pixels = 1 << 20, .channels = channels});
      if (img.numel() == 0) __builtin_trap();  // a decoded image is never empty
    } catch (const simclr::error&) {
    }
  }
  return 0;
}
