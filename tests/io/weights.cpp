// save_weights / load_weights: round trips, PyTorch parity of a torchvision-layout ResNet, and
// loading a full-width torchvision resnet18 state_dict layout.
#include <simclr/io/weights.hpp>

#include <cstring>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include <simclr/encoders/resnet.hpp>

#include "support/nn_fixtures.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {
fs::path temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "simclr-weights-test";
  fs::create_directories(dir);
  return dir / name;
}

/// The full-width torchvision resnet18 state_dict as (name, shape, dtype) from the fixture list,
/// filled with deterministic values, written as a safetensors file.
fs::path torchvision_resnet18_file() {
  std::ifstream in(test::nn_fixture("resnet18_state_dict.txt"));
  REQUIRE(in.good());
  std::vector<tensor<float>> floats;
  std::vector<tensor<std::int64_t>> ints;
  std::vector<std::string> float_names, int_names;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name, dtype, dims;
    ls >> name >> dtype >> dims;
    std::vector<index_t> ext;
    if (dims != "scalar") {
      std::istringstream ds(dims);
      std::string d;
      while (std::getline(ds, d, 'x')) ext.push_back(std::stol(d));
    }
    const shape s{std::span<const index_t>(ext)};
    if (dtype == "int64") {
      ints.emplace_back(s);
      ints.back().fill(3);
      int_names.push_back(name);
    } else {
      floats.emplace_back(s, uninitialized);
      random::fill_normal(floats.back().view(), random::key(nn::init::name_id(name)));
      float_names.push_back(name);
    }
  }
  std::vector<io::tensor_entry> entries;
  for (std::size_t i = 0; i < floats.size(); ++i) entries.push_back(io::entry(float_names[i], floats[i]));
  for (std::size_t i = 0; i < ints.size(); ++i) entries.push_back(io::entry(int_names[i], ints[i]));
  const fs::path p = temp_path("torchvision_resnet18.safetensors");
  io::write_safetensors(p, entries);
  return p;
}
}  // namespace

TEST_CASE("weights: save and load round trip restores every tensor") {
  auto a = encoders::resnet18<float>({.base_width = 4, .stem = encoders::stem::cifar, .seed = 1});
  (void)a.forward(tensor<float>(shape{4, 3, 8, 8}, uninitialized), mode::train);  // stats move
  const fs::path p = temp_path("roundtrip.safetensors");
  io::save_weights<float>(a, p, {{"producer", "simclr test"}});
  auto b = encoders::resnet18<float>({.base_width = 4, .stem = encoders::stem::cifar, .seed = 2});
  const auto report = io::load_weights<float>(b, p);
  CHECK(report.loaded.size() == 120);
  CHECK(report.skipped.empty());
  std::vector<const tensor<float>*> va, vb;
  a.visit_state([&](const nn::state_ref<float, cpu_t>& s) { if (s.value) va.push_back(s.value); }, "");
  b.visit_state([&](const nn::state_ref<float, cpu_t>& s) { if (s.value) vb.push_back(s.value); }, "");
  REQUIRE(va.size() == vb.size());
  for (std::size_t i = 0; i < va.size(); ++i)
    CHECK(std::memcmp(va[i]->data(), vb[i]->data(), va[i]->bytes()) == 0);
  CHECK(io::read_safetensors(p).metadata().at("producer") == "simclr test");
}

namespace {
/// Loads the PyTorch fixture network into a ResNet with `pooling` and compares h (eval and
/// train), every parameter gradient of <h_train, r> and the buffers after that step with the
/// fixture `io_file` (tests/fixtures/generate_nn.py).
void check_against_pytorch(encoders::pooling pooling, const char* io_file, index_t grid = 1) {
  auto net = encoders::resnet18<float>({.base_width = 4,
                                        .stem = encoders::stem::cifar,
                                        .pooling = pooling,
                                        .pool_grid = grid});
  const auto report = io::load_weights<float>(net, test::nn_fixture("resnet_w4_weights.safetensors"));
  CHECK(report.loaded.size() == 120);
  const auto ref = io::read_safetensors(test::nn_fixture(io_file));
  const auto x = ref.get<float>("x");
  const auto h_eval = net.forward(x, mode::eval);
  CHECK(test::max_scaled_error(h_eval, ref.get<float>("h_eval")) <= 1e-4);
  const auto h_train = net.forward(x, mode::train);
  CHECK(test::max_scaled_error(h_train, ref.get<float>("h_train")) <= 1e-4);
  net.zero_grad();
  net.backward(ref.get<float>("r"));
  double worst_grad = 0;
  for (const auto& p : net.parameters())
    worst_grad =
        std::max(worst_grad, test::relative_norm_error(*p.grad, ref.get<float>("grad." + p.name)));
  CHECK(worst_grad <= 1e-5);  // per tensor, ‖Δ‖/‖ref‖ (float32 sums over ≤ 1200 positions)
  double worst_stat = 0;
  std::int64_t batches = 0;
  net.visit_state(
      [&](const nn::state_ref<float, cpu_t>& s) {
        if (s.kind == nn::state_kind::buffer)
          worst_stat = std::max(worst_stat,
                                test::max_scaled_error(*s.value, ref.get<float>("after_train." + s.name)));
        if (s.kind == nn::state_kind::counter) batches = (*s.count)();
      },
      "");
  CHECK(worst_stat <= 1e-5);
  CHECK(batches == 8);  // 7 in the file, plus one training step
}
}  // namespace

TEST_CASE("weights: a torchvision-layout ResNet from PyTorch gives the same h and gradients") {
  check_against_pytorch(encoders::pooling::last_stage, "resnet_w4_io.safetensors");
}

TEST_CASE("weights: the same with h pooled from every stage (PyTorch: the pooled stages concatenated)") {
  check_against_pytorch(encoders::pooling::every_stage, "resnet_w4_every_stage_io.safetensors");
}

TEST_CASE("weights: the same with every stage over 2 x 2 cells, some overlapping (AdaptiveAvgPool2d(2))") {
  check_against_pytorch(encoders::pooling::every_stage,
                        "resnet_w4_every_stage_grid2_io.safetensors", 2);
}

TEST_CASE("weights: a full-width torchvision resnet18 state_dict loads (its fc skipped)") {
  const fs::path p = torchvision_resnet18_file();
  auto net = encoders::resnet18<float>();
  const auto report = io::load_weights<float>(net, p, {.ignore_prefixes = {"fc."}});
  CHECK(report.loaded.size() == 120);
  CHECK(report.skipped == std::vector<std::string>{"fc.bias", "fc.weight"});
  CHECK(net.parameters()[0].value->shape() == shape{64, 3, 7, 7});
  // Strict loading names the tensor the module does not have.
  auto other = encoders::resnet18<float>();
  CHECK_THROWS_WITH_AS(io::load_weights<float>(other, p),
                       doctest::Contains("tensor \"fc.bias\" is not part of the module"),
                       io_error);
}

TEST_CASE("weights: missing tensors and shape mismatches are named; the module is unchanged") {
  auto small = encoders::resnet18<float>({.base_width = 4, .stem = encoders::stem::cifar, .seed = 5});
  const fs::path p = temp_path("small.safetensors");
  io::save_weights<float>(small, p);
  // A module whose first conv expects 1 input channel: same names, one shape differs.
  auto gray = encoders::resnet18<float>(
      {.base_width = 4, .in_channels = 1, .stem = encoders::stem::cifar, .seed = 6});
  const tensor<float> before = *gray.parameters()[0].value;
  CHECK_THROWS_WITH_AS(io::load_weights<float>(gray, p),
                       doctest::Contains("\"conv1.weight\" has shape (4, 3, 3, 3)"), shape_error);
  CHECK(std::memcmp(before.data(), gray.parameters()[0].value->data(), before.bytes()) == 0);
  // ... and no other tensor was loaded either (layer1.0.conv1.weight keeps its own init).
  CHECK(gray.parameters()[3].name == "layer1.0.conv1.weight");
  CHECK(std::memcmp(gray.parameters()[3].value->data(), small.parameters()[3].value->data(),
                    gray.parameters()[3].value->bytes()) != 0);
  // A deeper module: tensors missing from the file.
  auto deeper = encoders::resnet34<float>({.base_width = 4, .stem = encoders::stem::cifar});
  CHECK_THROWS_WITH_AS(io::load_weights<float>(deeper, p), doctest::Contains("is missing"), io_error);
  const auto partial = io::load_weights<float>(deeper, p, {.strict = false});
  CHECK(partial.loaded.size() == 120);
  CHECK(!partial.missing.empty());
}

TEST_CASE("weights: a float file loads into a double module") {
  auto f32 = encoders::resnet18<float>({.base_width = 2, .stem = encoders::stem::cifar, .seed = 7});
  const fs::path p = temp_path("f32.safetensors");
  io::save_weights<float>(f32, p);
  auto f64 = encoders::resnet18<double>({.base_width = 2, .stem = encoders::stem::cifar});
  io::load_weights<double>(f64, p);
  CHECK(double(f32.parameters()[0].value->data()[3]) == f64.parameters()[0].value->data()[3]);
}
