// bench_decode: images decoded per second on one thread, the decoders simclr uses
// (io::decode_image: libjpeg-turbo for JPEG, libpng for PNG) next to stb_image's, which it used
// before (benchmarks/support/stb_decode.cpp).
//   bench_decode [cifar10-test-jpg.tar.gz]   32×32 JPEGs from the CIFAR-10 archive (1000 of
//                                            them) when given, and always 500×375 JPEG and PNG
//                                            images made here from a smooth pattern with noise
// Prints medians of 5 runs, images/s, and the ratio new / old.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <simclr/data/image_archive.hpp>
#include <simclr/io/image.hpp>
#include <simclr/random/stream.hpp>

bool stb_decode(std::span<const std::uint8_t> bytes, int channels);

using namespace simclr;

namespace {
void append(void* ctx, void* data, int size) {
  auto* v = static_cast<std::vector<std::uint8_t>*>(ctx);
  const auto* p = static_cast<const std::uint8_t*>(data);
  v->insert(v->end(), p, p + size);
}

/// Median images/s over 5 runs of decoding every file once.
template <class F>
double images_per_s(const std::vector<std::vector<std::uint8_t>>& files, F&& decode) {
  std::vector<double> rates;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& f : files) decode(f);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(static_cast<double>(files.size()) / s);
  }
  std::sort(rates.begin(), rates.end());
  return rates[2];
}

void compare(const char* what, const std::vector<std::vector<std::uint8_t>>& files) {
  const double now = images_per_s(files, [](const auto& f) { (void)io::decode_image(f, "bench"); });
  const double before = images_per_s(files, [](const auto& f) {
    if (!stb_decode(f, 0)) std::printf("stb could not decode an image\n");
  });
  std::printf("%-32s %6zu images  simclr %10.0f images/s  stb_image %10.0f images/s  ratio %.2f\n",
              what, files.size(), now, before, now / before);
}
/// Up to `n` encoded files of the archive's test/<class>/*.jpg entries, as stored.
std::vector<std::vector<std::uint8_t>> archive_jpegs(const char* path, std::size_t n) {
  std::vector<std::vector<std::uint8_t>> files;
  ::archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_all(a);
  if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
    throw io_error(path, "cannot open as an archive");
  archive_entry* e = nullptr;
  while (files.size() < n && archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const std::string name = archive_entry_pathname(e);
    if (archive_entry_filetype(e) != AE_IFREG || name.size() < 4 ||
        name.compare(name.size() - 4, 4, ".jpg") != 0)
      continue;
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(archive_entry_size(e)));
    if (archive_read_data(a, bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()))
      throw io_error(path, "cannot read " + name);
    files.push_back(std::move(bytes));
  }
  archive_read_free(a);
  return files;
}

/// `count` photo-sized (500×375) RGB images: smooth gradients plus noise, encoded as `fmt`.
std::vector<std::vector<std::uint8_t>> synthetic(const char* fmt, int count) {
  const int w = 500, h = 375;
  std::vector<std::vector<std::uint8_t>> files;
  random::stream rng(random::key(7));
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w * h * 3));
  for (int k = 0; k < count; ++k) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) {
          const int v = (x * (c + 1) / 3 + y * (3 - c) / 2 + 40 * k) % 200 +
                        static_cast<int>(rng.uniform_int(40));
          px[static_cast<std::size_t>((y * w + x) * 3 + c)] = static_cast<std::uint8_t>(v);
        }
    std::vector<std::uint8_t> out;
    if (std::string(fmt) == "jpg")
      stbi_write_jpg_to_func(append, &out, w, h, 3, px.data(), 90);
    else
      stbi_write_png_to_func(append, &out, w, h, 3, px.data(), w * 3);
    files.push_back(std::move(out));
  }
  return files;
}
}  // namespace

int main(int argc, char** argv) try {
  std::printf("# one thread; medians of 5 runs over the same files\n");
  if (argc > 1) compare("CIFAR-10 JPEG, 32x32", archive_jpegs(argv[1], 1000));
  compare("JPEG q90, 500x375", synthetic("jpg", 20));
  compare("PNG, 500x375", synthetic("png", 20));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_decode: %s\n", e.what());
  return 1;
}
