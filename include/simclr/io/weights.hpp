// simclr::io::save_weights / load_weights: a module's state as a safetensors state_dict.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/io/safetensors.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::io {

/// How load_weights treats the names of the file and the module.
struct load_options {
  /// Every module tensor must be in the file, and every file tensor must be used (except
  /// those under `ignore_prefixes`).
  bool strict = true;
  /// File tensors under these prefixes are skipped: {"fc."} loads a torchvision classifier's
  /// state_dict into an encoder (which has no fc).
  std::vector<std::string> ignore_prefixes = {};
  /// Element conversion: lossless (F32 → double) by default; checked also narrows.
  conversion elements = conversion::lossless;
};

/// What load_weights did: the names it filled, those it skipped from the file, those the
/// module has and the file lacks (only non-empty when not strict).
struct load_report {
  std::vector<std::string> loaded;
  std::vector<std::string> skipped;
  std::vector<std::string> missing;
};

/// Writes every parameter, buffer and counter of module `m` (torchvision names: conv1.weight,
/// layer1.0.bn1.running_mean, ...) to a safetensors file, atomically. Scalars are F32 for
/// float modules and F64 for double ones; counters are I64, as PyTorch stores them.
/// torch: `model.load_state_dict({k: torch.tensor(v) ...})` — see docs/io.md.
template <class T, module Module>
  requires std::same_as<scalar_of<Module>, T> && std::same_as<backend_of<Module>, cpu_t>
void save_weights(Module& m, const std::filesystem::path& path,
                  const std::map<std::string, std::string>& metadata = {}) {
  std::vector<tensor_entry> entries;
  m.visit_state(
      [&](const nn::state_ref<T, cpu_t>& s) {
        if (s.kind == nn::state_kind::counter)
          entries.push_back(entry(s.name, *s.count));
        else
          entries.push_back(entry(s.name, *s.value));
      },
      "");
  write_safetensors(path, entries, metadata);
}

/// Fills module `m`'s state from a safetensors file written by save_weights or exported from
/// PyTorch (a state_dict). Throws io_error naming the file and the first missing or
/// unexpected tensor (strict), shape_error naming the tensor and both shapes on a mismatch.
/// The module is only modified when every check passed.
template <class T, module Module>
  requires std::same_as<scalar_of<Module>, T> && std::same_as<backend_of<Module>, cpu_t>
load_report load_weights(Module& m, const std::filesystem::path& path,
                         const load_options& opt = {}) {
  const safetensors_file file = read_safetensors(path);
  load_report report;
  std::vector<nn::state_ref<T, cpu_t>> refs;
  m.visit_state([&](const nn::state_ref<T, cpu_t>& s) { refs.push_back(s); }, "");

  std::set<std::string> wanted;
  for (const auto& s : refs) {
    wanted.insert(s.name);
    if (!file.contains(s.name)) report.missing.push_back(s.name);
  }
  if (opt.strict && !report.missing.empty())
    throw io_error(path.string(), "tensor \"" + report.missing.front() +
                                      "\" is missing (" + std::to_string(report.missing.size()) +
                                      " of the module's " + std::to_string(refs.size()) +
                                      " tensors are not in the file)");
  for (const auto& name : file.names()) {
    if (wanted.contains(name)) continue;
    const bool ignored = std::any_of(opt.ignore_prefixes.begin(), opt.ignore_prefixes.end(),
                                     [&](const std::string& p) { return name.starts_with(p); });
    if (opt.strict && !ignored)
      throw io_error(path.string(),
                     "tensor \"" + name + "\" is not part of the module (pass it in "
                     "load_options::ignore_prefixes to skip it, or load non-strictly)");
    report.skipped.push_back(name);
  }

  // Read everything into temporaries first, so a failure leaves the module unchanged.
  std::vector<tensor<T, cpu_t>> values;
  std::vector<tensor<std::int64_t, cpu_t>> counts;
  for (const auto& s : refs) {
    if (!file.contains(s.name)) continue;
    if (s.kind == nn::state_kind::counter) {
      counts.emplace_back(s.count->shape(), uninitialized);
      file.copy_to(s.name, counts.back().view(), opt.elements);
    } else {
      values.emplace_back(s.value->shape(), uninitialized);
      file.copy_to(s.name, values.back().view(), opt.elements);
    }
  }
  std::size_t vi = 0, ci = 0;
  for (const auto& s : refs) {
    if (!file.contains(s.name)) continue;
    if (s.kind == nn::state_kind::counter)
      *s.count = std::move(counts[ci++]);
    else
      *s.value = std::move(values[vi++]);
    report.loaded.push_back(s.name);
  }
  return report;
}

}  // namespace simclr::io
