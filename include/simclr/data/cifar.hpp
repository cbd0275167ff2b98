// simclr::data CIFAR-10/100 binary-format readers (data_batch_*.bin, test_batch.bin, train.bin, test.bin).
#pragma once

// The binary format (https://www.cs.toronto.edu/~kriz/cifar.html): fixed-size records, no header.
// CIFAR-10: 1 label byte (0..9) + 3072 pixel bytes; CIFAR-100: 1 coarse label byte (0..19),
// 1 fine label byte (0..99) + 3072 pixel bytes. Pixels are planar: 1024 red, 1024 green, 1024
// blue, each 32 rows of 32, row-major. The readers return interleaved (N, 32, 32, 3) images.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <new>
#include <string>
#include <vector>

#include <simclr/data/dataset.hpp>
#include <simclr/error.hpp>
#include <simclr/io/file.hpp>
#include <simclr/tensor.hpp>

namespace simclr::data {

/// Which CIFAR binary layout, and which label to keep.
enum class cifar_variant {
  cifar10,          ///< 3073-byte records, labels 0..9
  cifar100_fine,    ///< 3074-byte records, the fine label (byte 1), 0..99
  cifar100_coarse,  ///< 3074-byte records, the coarse label (byte 0), 0..19
};

/// CIFAR-10's class names, label order (airplane = 0 ... truck = 9).
inline const std::vector<std::string>& cifar10_classes() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",
                                                 "deer",     "dog",        "frog",  "horse",
                                                 "ship",     "truck"};
  return names;
}

/// CIFAR-100's 100 fine class names, label order (alphabetical, as in the data set's meta file).
inline const std::vector<std::string>& cifar100_fine_classes() {
  static const std::vector<std::string> names = {
      "apple",       "aquarium_fish", "baby",        "bear",       "beaver",       "bed",
      "bee",         "beetle",        "bicycle",     "bottle",     "bowl",         "boy",
      "bridge",      "bus",           "butterfly",   "camel",      "can",          "castle",
      "caterpillar", "cattle",        "chair",       "chimpanzee", "clock",        "cloud",
      "cockroach",   "couch",         "crab",        "crocodile",  "cup",          "dinosaur",
      "dolphin",     "elephant",      "flatfish",    "forest",     "fox",          "girl",
      "hamster",     "house",         "kangaroo",    "keyboard",   "lamp",         "lawn_mower",
      "leopard",     "lion",          "lizard",      "lobster",    "man",          "maple_tree",
      "motorcycle",  "mountain",      "mouse",       "mushroom",   "oak_tree",     "orange",
      "orchid",      "otter",         "palm_tree",   "pear",       "pickup_truck", "pine_tree",
      "plain",       "plate",         "poppy",       "porcupine",  "possum",       "rabbit",
      "raccoon",     "ray",           "road",        "rocket",     "rose",         "sea",
      "seal",        "shark",         "shrew",       "skunk",      "skyscraper",   "snail",
      "snake",       "spider",        "squirrel",    "streetcar",  "sunflower",    "sweet_pepper",
      "table",       "tank",          "telephone",   "television", "tiger",        "tractor",
      "train",       "trout",         "tulip",       "turtle",     "wardrobe",     "whale",
      "willow_tree", "wolf",          "woman",       "worm"};
  return names;
}

/// CIFAR-100's 20 coarse (superclass) names, label order.
inline const std::vector<std::string>& cifar100_coarse_classes() {
  static const std::vector<std::string> names = {
      "aquatic_mammals",
      "fish",
      "flowers",
      "food_containers",
      "fruit_and_vegetables",
      "household_electrical_devices",
      "household_furniture",
      "insects",
      "large_carnivores",
      "large_man-made_outdoor_things",
      "large_natural_outdoor_scenes",
      "large_omnivores_and_herbivores",
      "medium_mammals",
      "non-insect_invertebrates",
      "people",
      "reptiles",
      "small_mammals",
      "trees",
      "vehicles_1",
      "vehicles_2"};
  return names;
}

/// Bytes of one record of `variant`: 3073 (CIFAR-10) or 3074 (CIFAR-100).
[[nodiscard]] constexpr index_t cifar_record_bytes(cifar_variant variant) {
  return variant == cifar_variant::cifar10 ? 3073 : 3074;
}

/// Reads the records of every file in `paths`, in order, into one data set of (N, 32, 32, 3)
/// images. Throws io_error naming the file when it cannot be read, is empty, its size is not a
/// multiple of the record size (truncated, or the other CIFAR variant), or a label byte is out
/// of range (naming the record and the field: 'label', 'coarse label' or 'fine label').
[[nodiscard]] inline dataset read_cifar_binary(std::span<const std::filesystem::path> paths,
                                               cifar_variant variant = cifar_variant::cifar10) {
  const index_t record = cifar_record_bytes(variant);
  const index_t label_bytes = record - 3072;
  std::vector<std::vector<std::uint8_t>> files;
  index_t total = 0;
  for (const auto& path : paths) {
    const std::string p = path.string();
    io::require_regular_file(path, "a CIFAR .bin file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw io_error(p, std::string("cannot open (") + std::strerror(errno) + ")");
    std::vector<std::uint8_t> bytes;
    try {
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::bad_alloc&) {
      throw io_error(p, "out of memory reading the file");
    }
    if (in.bad()) throw io_error(p, "read error");
    const auto size = static_cast<index_t>(bytes.size());
    const char* layout = variant == cifar_variant::cifar10
                             ? " (CIFAR-10: 1 label byte + 3072 pixel bytes)"
                             : " (CIFAR-100: coarse and fine label bytes + 3072 pixel bytes)";
    if (size == 0) throw io_error(p, "the file is empty, expected records of " +
                                         std::to_string(record) + " bytes" + layout);
    if (size % record != 0) {
      std::string reason = "file size " + std::to_string(size) +
                           " bytes is not a multiple of the record size " +
                           std::to_string(record) + layout + ": " +
                           std::to_string(size / record) + " whole records and " +
                           std::to_string(size % record) + " bytes left over (truncated?)";
      const index_t other = variant == cifar_variant::cifar10 ? 3074 : 3073;
      if (size % other == 0)
        reason += variant == cifar_variant::cifar10 ? "; the size fits CIFAR-100 records"
                                                    : "; the size fits CIFAR-10 records";
      throw io_error(p, reason);
    }
    total += size / record;
    files.push_back(std::move(bytes));
  }

  dataset d;
  d.images = tensor<std::uint8_t, cpu_t>(shape{total, 32, 32, 3}, uninitialized);  // (N, H, W, C)
  d.labels = tensor<std::int32_t, cpu_t>(shape{total}, uninitialized);
  switch (variant) {
    case cifar_variant::cifar10: d.class_names = cifar10_classes(); break;
    case cifar_variant::cifar100_fine: d.class_names = cifar100_fine_classes(); break;
    case cifar_variant::cifar100_coarse: d.class_names = cifar100_coarse_classes(); break;
  }
  d.num_classes = static_cast<index_t>(d.class_names.size());
  index_t n = 0;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const auto& bytes = files[f];
    const index_t records = static_cast<index_t>(bytes.size()) / record;
    for (index_t r = 0; r < records; ++r, ++n) {
      const std::uint8_t* rec = bytes.data() + r * record;
      auto check = [&](std::uint8_t v, index_t limit, const char* field) {
        if (v >= limit)
          throw io_error(paths[f].string(), "record " + std::to_string(r) + " (byte offset " +
                                                std::to_string(r * record) + "): field '" + field +
                                                "' is " + std::to_string(v) + ", expected 0.." +
                                                std::to_string(limit - 1));
      };
      std::int32_t y = 0;
      if (variant == cifar_variant::cifar10) {
        check(rec[0], 10, "label");
        y = rec[0];
      } else {
        check(rec[0], 20, "coarse label");
        check(rec[1], 100, "fine label");
        y = variant == cifar_variant::cifar100_fine ? rec[1] : rec[0];
      }
      d.labels.data()[n] = y;
      const std::uint8_t* px = rec + label_bytes;  // (3, 32, 32) planar
      std::uint8_t* dst = d.images.data() + n * 3072;  // (32, 32, 3) interleaved
      for (index_t i = 0; i < 1024; ++i) {
        dst[3 * i] = px[i];
        dst[3 * i + 1] = px[1024 + i];
        dst[3 * i + 2] = px[2048 + i];
      }
    }
  }
  return d;
}

/// One CIFAR binary file (see the overload for a list).
[[nodiscard]] inline dataset read_cifar_binary(const std::filesystem::path& path,
                                               cifar_variant variant = cifar_variant::cifar10) {
  return read_cifar_binary(std::span<const std::filesystem::path>(&path, 1), variant);
}

/// CIFAR-10 from the extracted `cifar-10-batches-bin` directory: data_batch_1..5.bin (train,
/// 50 000) or test_batch.bin (test, 10 000).
[[nodiscard]] inline dataset cifar10_binary(const std::filesystem::path& dir, split which) {
  std::vector<std::filesystem::path> paths;
  if (which == split::train)
    for (int i = 1; i <= 5; ++i) paths.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
  else
    paths.push_back(dir / "test_batch.bin");
  return read_cifar_binary(paths, cifar_variant::cifar10);
}

/// CIFAR-100 from the extracted `cifar-100-binary` directory: train.bin or test.bin, with the
/// fine (default) or coarse labels.
[[nodiscard]] inline dataset cifar100_binary(const std::filesystem::path& dir, split which,
                                             cifar_variant labels = cifar_variant::cifar100_fine) {
  if (labels == cifar_variant::cifar10)
    throw value_error("simclr: data::cifar100_binary takes cifar100_fine or cifar100_coarse");
  return read_cifar_binary(dir / (which == split::train ? "train.bin" : "test.bin"), labels);
}

}  // namespace simclr::data
