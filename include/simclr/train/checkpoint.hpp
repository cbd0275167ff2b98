// simclr::train::save_checkpoint / load_checkpoint: model + optimizer + progress, one safetensors file.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <simclr/concepts.hpp>
#include <simclr/error.hpp>
#include <simclr/io/safetensors.hpp>
#include <simclr/nn/state.hpp>
#include <simclr/tensor.hpp>

namespace simclr::train {

/// Where training stands: the epochs completed, the optimizer steps taken and the seed that
/// keys every random draw. With counter-based randomness this is the whole RNG state: the draws
/// of epoch e are a function of (seed, e, sample, ...), so a resumed run continues exactly.
struct checkpoint_info {
  std::int64_t epoch = 0;  ///< epochs completed
  std::int64_t step = 0;   ///< optimizer steps taken
  std::uint64_t seed = 0;
  std::map<std::string, std::string> extra;  ///< free-form metadata (recipe, command line, ...)
};

inline constexpr const char* checkpoint_format = "simclr-checkpoint-1";

namespace detail {

/// The list the optimizer steps over: the model's parameters() when it has one (a
/// trainable_model's order), else every parameter its visit_state reports.
template <module Model>
[[nodiscard]] std::vector<parameter<scalar_of<Model>, backend_of<Model>>> optimized_parameters(
    Model& model) {
  if constexpr (requires {
                  { model.parameters() } -> parameter_list<scalar_of<Model>, backend_of<Model>>;
                }) {
    auto list = model.parameters();
    return {std::ranges::begin(list), std::ranges::end(list)};
  } else {
    return nn::parameters_of<scalar_of<Model>, backend_of<Model>>(model);
  }
}

}  // namespace detail

/// Writes the model's state ("model.encoder.conv1.weight", ... BN statistics included), the
/// optimizer's state ("optimizer.<parameter>.<slot>", "optimizer.steps") and `info` (as
/// metadata) to `path`, atomically: a crash mid-write leaves the previous checkpoint intact.
template <module Model, checkpointable_optimizer<scalar_of<Model>, backend_of<Model>> Optimizer>
void save_checkpoint(const std::filesystem::path& path, Model& model, Optimizer& opt,
                     const checkpoint_info& info) {
  using T = typename Model::scalar_type;
  using B = typename Model::backend_type;
  // A device model's tensors are copied to the host first (to_host, found by argument-dependent
  // lookup in <simclr/transfer.cuh>); a deque keeps the copies where entries point.
  std::deque<tensor<T, cpu_t>> host_copies;
  const auto on_host = [&](const tensor<T, B>& t) -> const tensor<T, cpu_t>& {
    if constexpr (B::host_accessible) {
      return t;
    } else {
      return host_copies.emplace_back(to_host(t));
    }
  };
  std::vector<io::tensor_entry> entries;
  model.visit_state(
      [&](const nn::state_ref<T, B>& s) {
        entries.push_back(s.kind == nn::state_kind::counter ? io::entry(s.name, *s.count)
                                                            : io::entry(s.name, on_host(*s.value)));
      },
      "model");
  const auto params = detail::optimized_parameters(model);
  opt.bind(std::span<const parameter<T, B>>(params));
  auto st = opt.state();
  for (const auto& t : st.tensors)
    entries.push_back(io::entry("optimizer." + t.name, on_host(*t.value)));
  tensor<std::int64_t, cpu_t> steps(shape{}, {*st.steps});
  entries.push_back(io::entry("optimizer.steps", steps));
  std::map<std::string, std::string> meta = info.extra;
  meta["format"] = checkpoint_format;
  meta["epoch"] = std::to_string(info.epoch);
  meta["step"] = std::to_string(info.step);
  meta["seed"] = std::to_string(info.seed);
  io::write_safetensors(path, entries, meta);
}

/// Restores what save_checkpoint wrote into a model and an optimizer of the same structure.
/// Every tensor must be present with its shape (io_error / shape_error naming it otherwise);
/// nothing is modified unless the whole file checks out.
template <module Model, checkpointable_optimizer<scalar_of<Model>, backend_of<Model>> Optimizer>
checkpoint_info load_checkpoint(const std::filesystem::path& path, Model& model, Optimizer& opt) {
  using T = typename Model::scalar_type;
  using B = typename Model::backend_type;
  const io::safetensors_file file = io::read_safetensors(path);
  const auto& meta = file.metadata();
  const auto field = [&](const char* key) -> const std::string& {
    const auto it = meta.find(key);
    if (it == meta.end())
      throw io_error(path.string(), std::string("metadata field \"") + key +
                                        "\" is missing (not a simclr checkpoint?)");
    return it->second;
  };
  if (field("format") != checkpoint_format)
    throw io_error(path.string(), "metadata \"format\" is \"" + field("format") +
                                      "\", expected \"" + checkpoint_format + "\"");
  checkpoint_info info;
  try {
    info.epoch = std::stoll(field("epoch"));
    info.step = std::stoll(field("step"));
    info.seed = std::stoull(field("seed"));
  } catch (const std::logic_error&) {
    throw io_error(path.string(), "metadata epoch/step/seed are not integers");
  }
  for (const auto& [k, v] : meta)
    if (k != "format" && k != "epoch" && k != "step" && k != "seed") info.extra[k] = v;

  // Stage everything, then commit.
  struct staged_value {
    tensor<T, B>* dst;
    tensor<T, cpu_t> value;
  };
  struct staged_count {
    tensor<std::int64_t, cpu_t>* dst;
    tensor<std::int64_t, cpu_t> value;
  };
  std::vector<staged_value> values;
  std::vector<staged_count> counts;
  const auto need = [&](const std::string& name) {
    if (!file.contains(name))
      throw io_error(path.string(), "tensor \"" + name + "\" is missing from the checkpoint");
  };
  model.visit_state(
      [&](const nn::state_ref<T, B>& s) {
        need(s.name);
        if (s.kind == nn::state_kind::counter) {
          counts.push_back({s.count, tensor<std::int64_t, cpu_t>(s.count->shape(), uninitialized)});
          file.copy_to(s.name, counts.back().value.view());
        } else {
          values.push_back({s.value, tensor<T, cpu_t>(s.value->shape(), uninitialized)});
          file.copy_to(s.name, values.back().value.view());
        }
      },
      "model");
  const auto params = detail::optimized_parameters(model);
  opt.bind(std::span<const parameter<T, B>>(params));
  auto st = opt.state();
  for (const auto& t : st.tensors) {
    need("optimizer." + t.name);
    values.push_back({t.value, tensor<T, cpu_t>(t.value->shape(), uninitialized)});
    file.copy_to("optimizer." + t.name, values.back().value.view());
  }
  need("optimizer.steps");
  const auto steps = file.get<std::int64_t>("optimizer.steps");
  if constexpr (B::host_accessible) {
    for (auto& v : values) *v.dst = std::move(v.value);
  } else {  // copy everything to the device before the first assignment
    std::vector<tensor<T, B>> device_values;
    device_values.reserve(values.size());
    for (const auto& v : values) device_values.push_back(to_device(v.value));
    for (std::size_t i = 0; i < values.size(); ++i) *values[i].dst = std::move(device_values[i]);
  }
  for (auto& c : counts) *c.dst = std::move(c.value);
  *st.steps = steps();
  return info;
}

}  // namespace simclr::train
