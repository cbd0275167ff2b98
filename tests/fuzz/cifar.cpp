// libFuzzer target: CIFAR-10 and CIFAR-100 binary files.
#include <simclr/data/cifar.hpp>

#include "fuzz/input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = simclr::fuzz::input_file(data, size);
  using simclr::data::cifar_variant;
  for (const auto variant :
       {cifar_variant::cifar10, cifar_variant::cifar100_fine, cifar_variant::cifar100_coarse}) {
    try {
      (void)simclr::data::read_cifar_binary(path, variant);
    } catch (const simclr::error&) {
    }
  }
  return 0;
}
