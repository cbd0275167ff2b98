// simclr::io image files: PNG/JPEG/BMP to 8-bit (H, W, C) images, PNG out; failures are io_errors.
#pragma once

// Decoders for files from others: PNG by libpng, JPEG by libjpeg-turbo (both maintained and
// fuzzed continuously; Debian libpng-dev, libturbojpeg0-dev; simclr::io links them), BMP by
// stb_image behind checked header arithmetic. stb_image's PNG and JPEG decoders are not compiled
// in (Debian's 2.27 has known memory-safety bugs in its JPEG decoder). Writing PNGs uses
// stb_image_write.

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include <png.h>
#include <turbojpeg.h>

#include <simclr/augment/image.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/io/stb.hpp>

namespace simclr::io {

/// How read_image decodes a file.
struct image_read_options {
  /// Largest accepted width × height; a larger image is refused before it is decoded (a guard
  /// against decompression bombs and corrupt headers). Default 2²⁴ ≈ 16.8 M pixels (4096 × 4096,
  /// 50 MB decoded as RGB): far above any training image, and four 11000 × 11000 PNGs of 1.4 MB
  /// no longer decode to 1.5 GB.
  std::int64_t max_pixels = std::int64_t{1} << 24;
  /// Channels of the result: 0 = as stored (gray and gray+alpha → 1, RGB and RGBA → 3), or 1
  /// (luma) or 3 (gray replicated). Alpha is dropped, not composited.
  int channels = 0;
};

namespace detail {

enum class image_format { unknown, png, jpeg, bmp };

inline const char* format_name(image_format f) {
  switch (f) {
    case image_format::png:
      return "PNG";
    case image_format::jpeg:
      return "JPEG";
    case image_format::bmp:
      return "BMP";
    default:
      return "image";
  }
}

inline image_format sniff(std::span<const std::uint8_t> b) {
  static constexpr std::uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (b.size() >= 8 && std::memcmp(b.data(), png_sig, 8) == 0) return image_format::png;
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return image_format::jpeg;
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return image_format::bmp;
  return image_format::unknown;
}

inline std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}
inline std::uint16_t le16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

/// What the header says, before any pixel is decoded: extents, and whether the file holds all
/// the bytes its pixels need (`complete`; for JPEG: an end-of-image marker after the scans).
struct header_info {
  std::int64_t width = -1;
  std::int64_t height = -1;
  bool complete = false;
  std::string problem;  // why the header could not be read, if it could not
};

inline header_info probe_png(std::span<const std::uint8_t> b) {
  header_info h;
  if (b.size() < 33 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) {
    h.problem = "truncated or corrupt PNG header (no complete IHDR chunk)";
    return h;
  }
  h.width = be32(b.data() + 16);
  h.height = be32(b.data() + 20);
  // Complete when the chunk list reaches IEND inside the file.
  std::size_t pos = 8;
  while (pos + 12 <= b.size()) {
    const std::uint32_t len = be32(b.data() + pos);
    if (std::memcmp(b.data() + pos + 4, "IEND", 4) == 0) {
      h.complete = true;
      break;
    }
    if (len > b.size() - pos - 12) break;
    pos += 12 + len;
  }
  return h;
}

inline header_info probe_jpeg(std::span<const std::uint8_t> b) {
  header_info h;
  std::size_t pos = 2;  // after SOI
  bool in_scan = false;
  while (pos < b.size()) {
    if (in_scan) {  // entropy-coded data: skip to the next marker that is not a stuffed 0 or RST
      if (b[pos] != 0xFF || pos + 1 >= b.size()) {
        ++pos;
        continue;
      }
      const std::uint8_t m = b[pos + 1];
      if (m == 0x00 || (m >= 0xD0 && m <= 0xD7) || m == 0xFF) {
        pos += m == 0xFF ? 1 : 2;
        continue;
      }
      in_scan = false;
    }
    if (b[pos] != 0xFF) {
      h.problem = "corrupt JPEG (expected a marker at byte " + std::to_string(pos) + ")";
      return h;
    }
    while (pos < b.size() && b[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= b.size()) break;
    const std::uint8_t m = b[pos++];
    if (m == 0xD9) {  // EOI
      h.complete = h.width >= 0;
      return h;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // markers without a length
    if (pos + 2 > b.size()) break;
    const std::size_t len = static_cast<std::size_t>(b[pos] << 8 | b[pos + 1]);
    if (len < 2 || pos + len > b.size()) break;
    const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof && len >= 7 && h.width < 0) {
      h.height = b[pos + 3] << 8 | b[pos + 4];
      h.width = b[pos + 5] << 8 | b[pos + 6];
    }
    pos += len;
    if (m == 0xDA) in_scan = true;  // SOS: the scan data follows its header
  }
  if (h.width < 0) h.problem = "truncated or corrupt JPEG header (no frame header)";
  return h;
}

inline header_info probe_bmp(std::span<const std::uint8_t> b) {
  header_info h;
  if (b.size() < 30) {
    h.problem = "truncated BMP header";
    return h;
  }
  const std::uint32_t offset = le32(b.data() + 10);
  const std::uint32_t dib = le32(b.data() + 14);
  if (dib == 12) {  // OS/2 BITMAPCOREHEADER: 16-bit extents
    h.width = le16(b.data() + 18);
    h.height = le16(b.data() + 20);
  } else {
    h.width = static_cast<std::int32_t>(le32(b.data() + 18));
    const auto height = static_cast<std::int32_t>(le32(b.data() + 22));
    h.height = height < 0 ? -static_cast<std::int64_t>(height) : height;
  }
  const std::uint16_t bpp = le16(b.data() + (dib == 12 ? 24 : 28));
  const std::uint32_t compression = dib == 12 || b.size() < 34 ? 0 : le32(b.data() + 30);
  if (h.width < 0) {
    h.problem = "corrupt BMP header (negative width)";
    return h;
  }
  if (compression == 0 || compression == 3) {  // uncompressed rows, padded to 4 bytes
    // width < 2³¹ and bpp < 2¹⁶: the row size fits; row × height may not (a 39-byte file with
    // width and height 2³¹ − 1 overflowed here), so compare by division.
    const std::int64_t row = (h.width * bpp + 31) / 32 * 4;
    const std::int64_t room = static_cast<std::int64_t>(b.size()) - std::int64_t{offset};
    h.complete = room >= 0 && (row == 0 || h.height <= room / row);
  } else {
    h.complete = true;  // RLE: stb refuses it with its own message
  }
  return h;
}

[[noreturn]] inline void fail(const std::filesystem::path& path, const std::string& reason) {
  throw io_error(path.string(), reason);
}

/// (H, W, want) from decoded pixels with `stored` interleaved channels (1 gray, 2 gray + alpha,
/// 3 RGB, 4 RGBA): want 0 keeps gray as 1 channel and colour as 3; alpha is dropped, never
/// composited; 1 takes the luma (77 R + 150 G + 29 B) / 256, as stb_image did; 3 replicates gray.
[[nodiscard]] inline augment::image_u8 to_channels(const std::uint8_t* px, index_t h, index_t w,
                                                   int stored, int want) {
  const bool color = stored >= 3;
  const index_t out_c = want != 0 ? want : (color ? 3 : 1);
  augment::image_u8 img(shape{h, w, out_c}, uninitialized);  // (H, W, C)
  std::uint8_t* out = img.data();
  const index_t n = h * w;
  for (index_t i = 0; i < n; ++i) {
    const std::uint8_t* p = px + i * stored;
    if (out_c == 3) {
      out[3 * i] = p[0];
      out[3 * i + 1] = color ? p[1] : p[0];
      out[3 * i + 2] = color ? p[2] : p[0];
    } else {
      out[i] = color ? static_cast<std::uint8_t>((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8) : p[0];
    }
  }
  return img;
}

/// PNG through libpng's simplified API (maintained, fuzzed continuously by OSS-Fuzz), decoded as
/// 8-bit gray, gray + alpha, RGB or RGBA as stored.
[[nodiscard]] inline augment::image_u8 decode_png(std::span<const std::uint8_t> bytes,
                                                  const std::filesystem::path& name,
                                                  const header_info& info, int want) {
  struct image_guard {
    png_image im{};
    ~image_guard() { png_image_free(&im); }
  } g;
  g.im.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&g.im, bytes.data(), bytes.size()) == 0)
    fail(name, std::string("corrupt PNG header (libpng: ") + g.im.message + ")");
  if (g.im.width != static_cast<png_uint_32>(info.width) ||
      g.im.height != static_cast<png_uint_32>(info.height))
    fail(name, "corrupt PNG header (inconsistent extents)");
  g.im.format &= PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA;  // 8 bits a channel, no colormap
  const int stored = static_cast<int>(PNG_IMAGE_SAMPLE_CHANNELS(g.im.format));
  if ((want == 0 && (stored == 1 || stored == 3)) || want == stored) {  // straight into the result
    augment::image_u8 img(shape{info.height, info.width, stored}, uninitialized);  // (H, W, C)
    if (png_image_finish_read(&g.im, nullptr, img.data(), 0, nullptr) == 0)
      fail(name, std::string("cannot decode the PNG data (libpng: ") + g.im.message + ")");
    return img;
  }
  std::vector<std::uint8_t> px;
  try {
    px.resize(PNG_IMAGE_SIZE(g.im));
  } catch (const std::bad_alloc&) {
    fail(name, "out of memory for the decoded PNG");
  }
  if (png_image_finish_read(&g.im, nullptr, px.data(), 0, nullptr) == 0)
    fail(name, std::string("cannot decode the PNG data (libpng: ") + g.im.message + ")");
  return to_channels(px.data(), info.height, info.width, stored, want);
}

/// The calling thread's TurboJPEG decompressor, created on first use and kept: a new one per
/// image costs more than small images take to decode.
[[nodiscard]] inline tjhandle jpeg_decoder() {
  struct handle_guard {
    tjhandle h = tjInitDecompress();
    ~handle_guard() {
      if (h != nullptr) tjDestroy(h);
    }
  };
  thread_local handle_guard g;
  return g.h;
}

/// JPEG through libjpeg-turbo's TurboJPEG API (maintained, fuzzed continuously by OSS-Fuzz):
/// gray JPEGs as 1 channel, every other colour space converted to RGB, straight into the result
/// when no channel conversion is asked for. libjpeg's warnings (recoverable damage, e.g.
/// extraneous bytes) keep the decoded image; errors are io_errors.
[[nodiscard]] inline augment::image_u8 decode_jpeg(std::span<const std::uint8_t> bytes,
                                                   const std::filesystem::path& name,
                                                   const header_info& info, int want) {
  const tjhandle dec = jpeg_decoder();
  if (dec == nullptr) fail(name, "cannot start the JPEG decoder (libjpeg-turbo: out of memory)");
  auto* data = const_cast<unsigned char*>(bytes.data());  // TurboJPEG 2 takes non-const buffers
  const auto size = static_cast<unsigned long>(bytes.size());
  int w = 0, h = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(dec, data, size, &w, &h, &subsamp, &colorspace) != 0)
    fail(name, std::string("corrupt JPEG header (libjpeg-turbo: ") + tjGetErrorStr2(dec) + ")");
  if (w != info.width || h != info.height)
    fail(name, "corrupt JPEG header (inconsistent extents)");
  const int stored = colorspace == TJCS_GRAY ? 1 : 3;
  const int out_c = want != 0 ? want : stored;
  const auto decode_into = [&](std::uint8_t* dst) {
    if (tjDecompress2(dec, data, size, dst, w, 0, h, stored == 1 ? TJPF_GRAY : TJPF_RGB, 0) != 0 &&
        tjGetErrorCode(dec) != TJERR_WARNING)
      fail(name, std::string("cannot decode the JPEG data (libjpeg-turbo: ") + tjGetErrorStr2(dec) +
                     ")");
  };
  if (out_c == stored) {
    augment::image_u8 img(shape{h, w, out_c}, uninitialized);  // (H, W, C)
    decode_into(img.data());
    return img;
  }
  std::vector<std::uint8_t> px;
  try {
    px.resize(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) *
              static_cast<std::size_t>(stored));
  } catch (const std::bad_alloc&) {
    fail(name, "out of memory for the decoded JPEG");
  }
  decode_into(px.data());
  return to_channels(px.data(), h, w, stored, want);
}

/// BMP through stb_image, whose BMP reader only runs after the header arithmetic above checked
/// the extents and the file size.
[[nodiscard]] inline augment::image_u8 decode_bmp(std::span<const std::uint8_t> bytes,
                                                  const std::filesystem::path& name,
                                                  const header_info& info, int want) {
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, stored = 0;
  if (stbi_info_from_memory(bytes.data(), len, &w, &h, &stored) == 0)
    fail(name, std::string("corrupt BMP header (") + stbi_failure_reason() + ")");
  if (w != info.width || h != info.height) fail(name, "corrupt BMP header (inconsistent extents)");
  const std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes.data(), len, &w, &h, &stored, 0), stbi_image_free);
  if (!pixels) fail(name, std::string("cannot decode the BMP data (") + stbi_failure_reason() + ")");
  return to_channels(pixels.get(), h, w, stored, want);
}

}  // namespace detail

/// Decodes an in-memory PNG, JPEG or BMP file into an (H, W, C) 8-bit image. `name` is used in
/// error messages (the file it came from). Throws io_error for a file that is empty, not one of
/// these formats, truncated, corrupt, zero-sized or larger than `options.max_pixels`; never
/// returns a partly decoded image.
[[nodiscard]] inline augment::image_u8 decode_image(std::span<const std::uint8_t> bytes,
                                                    const std::filesystem::path& name,
                                                    const image_read_options& options = {}) {
  using detail::fail;
  if (options.channels != 0 && options.channels != 1 && options.channels != 3)
    throw value_error("simclr: io::image_read_options::channels is " +
                      std::to_string(options.channels) + ", expected 0, 1 or 3");
  if (bytes.empty()) fail(name, "the file is empty");
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) fail(name, "the file is larger than 2 GiB");
  const detail::image_format format = detail::sniff(bytes);
  detail::header_info info;
  switch (format) {
    case detail::image_format::png:
      info = detail::probe_png(bytes);
      break;
    case detail::image_format::jpeg:
      info = detail::probe_jpeg(bytes);
      break;
    case detail::image_format::bmp:
      info = detail::probe_bmp(bytes);
      break;
    default:
      fail(name, "not a PNG, JPEG or BMP image (unrecognised signature)");
  }
  const char* fmt = detail::format_name(format);
  if (!info.problem.empty()) fail(name, info.problem);
  if (info.width == 0 || info.height == 0)
    fail(name, std::string("zero-sized ") + fmt + " image (" + std::to_string(info.width) + "×" +
                   std::to_string(info.height) + ")");
  if (info.width > options.max_pixels || info.height > options.max_pixels ||
      info.width * info.height > options.max_pixels)
    fail(name, std::string(fmt) + " image of " + std::to_string(info.width) + "×" +
                   std::to_string(info.height) + " pixels exceeds the limit of " +
                   std::to_string(options.max_pixels) + " pixels (image_read_options::max_pixels)");
  if (!info.complete)
    fail(name, std::string("truncated ") + fmt + " file (" + std::to_string(bytes.size()) +
                   " bytes; the image data ends early)");

  const int channels = options.channels;
  switch (format) {
    case detail::image_format::png:
      return detail::decode_png(bytes, name, info, channels);
    case detail::image_format::jpeg:
      return detail::decode_jpeg(bytes, name, info, channels);
    default:
      return detail::decode_bmp(bytes, name, info, channels);
  }
}

/// Reads a PNG, JPEG or BMP file into an (H, W, C) 8-bit image, C = 1 or 3 (see
/// image_read_options). Throws io_error naming the file and the reason when it is missing,
/// unreadable, empty, not an image, truncated, corrupt, zero-sized or too large.
[[nodiscard]] inline augment::image_u8 read_image(const std::filesystem::path& path,
                                                  const image_read_options& options = {}) {
  io::require_regular_file(path, "a PNG, JPEG or BMP image");
  std::ifstream in(path, std::ios::binary);
  if (!in) detail::fail(path, std::string("cannot open (") + std::strerror(errno) + ")");
  std::vector<std::uint8_t> bytes;
  try {
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } catch (const std::bad_alloc&) {
    detail::fail(path, "out of memory reading the file");
  }
  if (in.bad()) detail::fail(path, "read error");
  return decode_image(bytes, path, options);
}

/// Writes an (H, W, C) 8-bit image, C = 1 or 3, as a PNG file. Throws io_error if the file
/// cannot be written.
inline void write_png(const std::filesystem::path& path, const augment::image_u8& img) {
  augment::expect_image(img, "io::write_png");
  const index_t h = img.extent(0), w = img.extent(1), c = img.extent(2);
  if (h > INT_MAX / 4 || w * c > INT_MAX / 4) detail::fail(path, "image too large for PNG output");
  if (stbi_write_png(path.string().c_str(), static_cast<int>(w), static_cast<int>(h),
                     static_cast<int>(c), img.data(), static_cast<int>(w * c)) == 0)
    detail::fail(path, std::string("cannot write the PNG file (") + std::strerror(errno) + ")");
}

/// Writes a (C, H, W) float image in [0, 1] as a PNG file (through augment::to_u8).
inline void write_png(const std::filesystem::path& path, const augment::image_f32& img) {
  write_png(path, augment::to_u8(img));
}

}  // namespace simclr::io
