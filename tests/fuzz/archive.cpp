// libFuzzer target: image archives (.tar.gz and whatever libarchive reads) with small limits.
#include <simclr/data/image_archive.hpp>

#include "fuzz/input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = simclr::fuzz::input_file(data, size);
  simclr::data::image_archive_options o;
  o.folder = "train";
  o.max_entry_bytes = 1 << 16;
  o.max_encoded_bytes = 1 << 20;
  o.images.max_pixels = 1 << 16;
  o.images.max_bytes = 1 << 22;
  o.images.min_size = 1;
  static simclr::parallel::thread_pool one(1);
  try {
    (void)simclr::data::read_image_archive(path, o, one);
  } catch (const simclr::error&) {
  }
  return 0;
}
