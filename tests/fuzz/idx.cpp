// libFuzzer target: IDX images and labels, plain or gzip (zlib reads both), with a 16 MiB limit.
#include <simclr/data/idx.hpp>

#include "fuzz/input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = simclr::fuzz::input_file(data, size);
  try {
    (void)simclr::data::read_idx_images(path, std::uint64_t{1} << 24);
  } catch (const simclr::error&) {
  }
  try {
    (void)simclr::data::read_idx_labels(path, 10, std::uint64_t{1} << 24);
  } catch (const simclr::error&) {
  }
  return 0;
}
