// augment_preview: writes a PNG grid — per row an original image and several pairs of SimCLR views.
//
//   augment_preview                          synthetic test patterns, ImageNet-style policy at 96
//   px augment_preview --cifar10                the first images of the CIFAR-10 test archive
//   augment_preview --images DIR             every PNG/JPEG/BMP file in DIR (sorted, up to --rows)
//   options: --output FILE (augment_preview.png) --rows N --pairs N --policy cifar|imagenet
//            --semantics torchvision|tf --size S --scale K --seed N
//
// The views come from augment::two_views, exactly as a training batch would: pair p of row i is
// rows i and i + N of the batch for epoch p.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <simclr/data/image_archive.hpp>
#include <simclr/io/image.hpp>
#include <simclr/simclr.hpp>

using namespace simclr;
namespace fs = std::filesystem;

namespace {

constexpr const char* default_archive = "/work/shared/data/cifar10-jpg/cifar10-test-jpg.tar.gz";

/// A colourful synthetic image: hue wheel, checkerboard and rings (H, W, 3).
augment::image_u8 synthetic(index_t h, index_t w, int variant) {
  augment::image_u8 img(shape{h, w, 3}, uninitialized);
  for (index_t y = 0; y < h; ++y)
    for (index_t x = 0; x < w; ++x) {
      const double u = (static_cast<double>(x) + 0.5) / static_cast<double>(w) - 0.5;
      const double v = (static_cast<double>(y) + 0.5) / static_cast<double>(h) - 0.5;
      const double angle = std::atan2(v, u) + variant * 0.9;
      const double r = std::sqrt(u * u + v * v);
      double rgb[3];
      for (int k = 0; k < 3; ++k) rgb[k] = 0.5 + 0.5 * std::cos(angle - k * 2.0944);
      const bool checker = ((x * 8 / w) + (y * 8 / h)) % 2 == 0;
      const bool ring = std::fmod(r * (6 + variant * 2), 1.0) < 0.18;
      for (int k = 0; k < 3; ++k) {
        double c = rgb[k] * (checker ? 1.0 : 0.75);
        if (ring) c = variant % 2 == 0 ? 1.0 : 0.05;
        img(y, x, k) = static_cast<std::uint8_t>(std::clamp(c, 0.0, 1.0) * 255.0 + 0.5);
      }
    }
  return img;
}

/// The first `n` images of the CIFAR-10 test archive (one per class, cycling), read straight out
/// of the archive (data::read_image_archive: no extraction, no shell).
std::vector<augment::image_u8> from_archive(const fs::path& archive, int n) {
  const data::dataset d = data::read_image_archive(archive, {.images = {}, .folder = "test"});
  std::vector<std::vector<index_t>> by_class(static_cast<std::size_t>(d.num_classes));
  for (index_t i = 0; i < d.size(); ++i) by_class[static_cast<std::size_t>(d.label(i))].push_back(i);
  std::vector<augment::image_u8> images;
  for (int i = 0; i < n; ++i) {
    const auto& in_class = by_class[static_cast<std::size_t>(i) % by_class.size()];
    const auto k = static_cast<std::size_t>(i) / by_class.size();
    if (k >= in_class.size()) break;
    images.push_back(d.image(in_class[k]));
  }
  return images;
}

/// Up to `n` images of a directory (PNG, JPEG, BMP; sorted by name), as RGB.
std::vector<augment::image_u8> from_directory(const fs::path& dir, int n) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string ext = e.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp")
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.size() > static_cast<std::size_t>(n)) files.resize(static_cast<std::size_t>(n));
  if (files.empty()) throw io_error(dir.string(), "no PNG, JPEG or BMP files in this directory");
  std::vector<augment::image_u8> images;
  for (const auto& f : files) images.push_back(io::read_image(f, {.channels = 3}));
  return images;
}

/// Copies `img` (3, s, s) into the grid (H, W, 3) at (top, left), each pixel as a k×k block.
void paste(augment::image_u8& grid, const tensor<float>& img, index_t top, index_t left,
           index_t k) {
  const index_t c = img.extent(0), h = img.extent(1), w = img.extent(2);
  for (index_t y = 0; y < h * k; ++y)
    for (index_t x = 0; x < w * k; ++x)
      for (index_t ch = 0; ch < 3; ++ch) {
        const float v = img(std::min(ch, c - 1), y / k, x / k);
        grid(top + y, left + x, ch) =
            static_cast<std::uint8_t>(std::clamp(v, 0.0f, 1.0f) * 255.0f + 0.5f);
      }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Writes a PNG grid of SimCLR augmentations: an original and pairs of views per row."};
  std::string output = "augment_preview.png", images_dir, archive, policy_name,
              sem_name = "torchvision";
  bool cifar10 = false;
  int rows = 6, pairs = 3;
  index_t size = 0, scale = 0;
  std::uint64_t seed = 2020;
  app.add_option("-o,--output", output, "PNG file to write");
  app.add_option("--images", images_dir, "directory of PNG/JPEG/BMP images");
  app.add_option("--archive", archive, "a CIFAR-10 JPEG .tar.gz (test/<class>/NNNN.jpg)");
  app.add_flag("--cifar10", cifar10, std::string("use ") + default_archive);
  app.add_option("--rows", rows, "images (rows)")->check(CLI::Range(1, 64));
  app.add_option("--pairs", pairs, "pairs of views per row")->check(CLI::Range(1, 16));
  app.add_option("--policy", policy_name,
                 "cifar or imagenet (default: cifar for CIFAR-10, else imagenet)")
      ->check(CLI::IsMember({"cifar", "imagenet"}));
  app.add_option("--semantics", sem_name, "torchvision or tf")
      ->check(CLI::IsMember({"torchvision", "tf"}));
  app.add_option("--size", size, "view side S (default: the policy's, 96 for synthetic images)");
  app.add_option("--scale", scale,
                 "pixel magnification in the grid (default: 3 below 64 px, else 1)");
  app.add_option("--seed", seed, "random seed");
  CLI11_PARSE(app, argc, argv);

  try {
    if (cifar10 && archive.empty()) archive = default_archive;
    std::vector<augment::image_u8> images;
    std::string source;
    if (!images_dir.empty()) {
      images = from_directory(images_dir, rows);
      source = images_dir;
    } else if (!archive.empty()) {
      images = from_archive(archive, rows);
      source = archive;
      if (policy_name.empty()) policy_name = "cifar";
    } else {
      for (int i = 0; i < rows; ++i) images.push_back(synthetic(160, 200, i));
      source = "synthetic patterns";
      if (size == 0) size = 96;
    }
    const index_t n = static_cast<index_t>(images.size());
    augment::policy_options o;
    if (policy_name == "cifar") {
      o.size = 32;
      o.strength = 0.5f;
      o.blur_p = 0.0;
    }
    if (size > 0) o.size = size;
    o.sem = sem_name == "tf" ? augment::semantics::tf : augment::semantics::torchvision;
    const augment::simclr_policy policy = augment::make_simclr_policy(o);
    const index_t s = o.size, k = scale > 0 ? scale : (s < 64 ? 3 : 1);
    const index_t cell = s * k, gap = 4, pair_gap = 12;
    const index_t width = gap + cell + pair_gap + pairs * (2 * cell + gap + pair_gap);
    const index_t height = gap + n * (cell + gap);
    augment::image_u8 grid(shape{height, width, 3});
    grid.fill(255);

    std::vector<tensor<float>> batches;  // one (2N, 3, S, S) batch per epoch
    for (int p = 0; p < pairs; ++p)
      batches.push_back(augment::two_views(policy, std::span<const augment::image_u8>(images),
                                           {seed, static_cast<std::uint64_t>(p), 0}));
    const index_t per_view = 3 * s * s;
    for (index_t i = 0; i < n; ++i) {
      const index_t top = gap + i * (cell + gap);
      const tensor<float> original =
          augment::resize(augment::to_float(images[static_cast<std::size_t>(i)]), s, s);
      paste(grid, original, top, gap, k);
      for (int p = 0; p < pairs; ++p) {
        const index_t left = gap + cell + pair_gap + p * (2 * cell + gap + pair_gap);
        for (index_t v = 0; v < 2; ++v) {
          tensor<float> view(shape{3, s, s}, uninitialized);
          const float* src = batches[static_cast<std::size_t>(p)].data() + (v * n + i) * per_view;
          std::copy(src, src + per_view, view.data());
          paste(grid, view, top, left + v * (cell + gap), k);
        }
      }
    }
    io::write_png(output, grid);
    std::printf(
        "augment_preview: %td rows × (original + %d pairs) from %s, S = %td, %s semantics -> %s\n",
        n, pairs, source.c_str(), s, sem_name.c_str(), output.c_str());
  } catch (const simclr::error& e) {
    std::fprintf(stderr, "augment_preview: %s\n", e.what());
    return 1;
  }
  return 0;
}
