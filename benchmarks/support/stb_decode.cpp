// stb_image's PNG and JPEG decoders, the ones simclr used before it moved to libpng and
// libjpeg-turbo: compiled here, in their own translation unit, only to be timed next to the
// new ones (benchmarks/decode.cpp). Not for files from others (docs/reliability.md).
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <cstdint>
#include <span>

/// Decodes `bytes` to `channels` channels with stb_image; returns false when it cannot.
bool stb_decode(std::span<const std::uint8_t> bytes, int channels) {
  int w = 0, h = 0, c = 0;
  stbi_uc* p = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &c,
                                     channels);
  if (p == nullptr) return false;
  stbi_image_free(p);
  return true;
}
