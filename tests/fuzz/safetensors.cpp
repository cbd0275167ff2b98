// libFuzzer target: safetensors files (the format of weights and checkpoints), every tensor read
// back with checked conversion to float and to int64.
#include <simclr/io/safetensors.hpp>

#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file = simclr::io::parse_safetensors(
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), size), "fuzz",
        {.max_header_bytes = 1 << 20});
    for (const auto& name : file.names()) {
      try {
        (void)file.get<float>(name, simclr::io::conversion::checked);
      } catch (const simclr::error&) {
      }
      try {
        (void)file.get<std::int64_t>(name, simclr::io::conversion::checked);
      } catch (const simclr::error&) {
      }
    }
    (void)file.metadata();
  } catch (const simclr::error&) {
  }
  return 0;
}
