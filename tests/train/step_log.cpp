// The parts of the training loop on their own: the step log, the collapse monitor and the
// batch source.
#include <simclr/train/batch_source.hpp>
#include <simclr/train/collapse_monitor.hpp>
#include <simclr/train/step_log.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>

#include "support/toy_data.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}
}  // namespace

TEST_CASE("step_log: one JSON line per step; resuming cuts the log back to the checkpoint's steps") {
  const fs::path dir = fs::temp_directory_path() / "simclr-step-log";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path p = dir / "train.jsonl";
  {
    train::step_log log(p, train::progress_style::none);
    for (std::int64_t s = 0; s < 5; ++s)
      log.record({.epoch = 0, .step = s, .lr = 0.1, .loss = 5.0 - double(s)}, {.in_epoch = s + 1, .per_epoch = 5});
  }
  auto lines = lines_of(p);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "{\"epoch\":0,\"step\":0,\"lr\":0.1,\"loss\":5,\"top1\":-1,\"entropy\":-1,"
                    "\"views_per_s\":0.0,\"data_wait_ms\":0.000}");
  CHECK(train::detail::logged_step(lines[3]) == 3);
  {
    train::step_log log(p, train::progress_style::none, 3);  // a checkpoint after step 2
    log.record({.epoch = 0, .step = 3, .loss = 1.5}, {.in_epoch = 4, .per_epoch = 5});
  }
  lines = lines_of(p);
  REQUIRE(lines.size() == 4);
  CHECK(train::detail::logged_step(lines[2]) == 2);
  CHECK(lines[3].find("\"loss\":1.5") != std::string::npos);
  // A fresh run (no resume) starts the log empty.
  { train::step_log log(p, train::progress_style::none); }
  CHECK(lines_of(p).empty());
}

TEST_CASE("step_log: a log that cannot be written names it and the last good checkpoint") {
  if (!fs::exists("/dev/full")) return;
  train::step_log log("/dev/full", train::progress_style::none);
  log.set_last_checkpoint("run/checkpoint.safetensors");
  CHECK_THROWS_WITH_AS(log.record({.step = 7}, {}),
                       doctest::Contains("at step 7; the last good checkpoint is run/checkpoint"),
                       io_error);
}

TEST_CASE("collapse_monitor: warns once after `patience` consecutive near-collapse steps") {
  train::collapse_monitor m(3);
  const step_metrics near{.loss = 1, .near_collapse = true}, fine{.loss = 1};
  CHECK(!m.observe(near));
  CHECK(!m.observe(near));
  CHECK(!m.observe(fine));  // the run restarts
  CHECK(m.run() == 0);
  CHECK(!m.observe(near));
  CHECK(!m.observe(near));
  CHECK(m.observe(near));   // third in a row: the warning
  CHECK(!m.observe(near));  // only once
  CHECK(m.warned());
}

TEST_CASE("batch_source: on the CPU it hands on the loader's batches, in order, keyed by (seed, epoch, batch)") {
  const test::toy_images data(20, 10, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);
  train::batch_source<cpu_t, test::toy_images, decltype(policy)> source(
      data, policy, {.batch_size = 8, .seed = 4, .loader_threads = 2});
  train::two_view_loader loader(data, policy, {.batch_size = 8, .seed = 4, .threads = 1});
  CHECK(source.batches_per_epoch() == 2);  // the last partial batch is dropped
  for (std::uint64_t epoch : {0u, 1u}) {
    source.start_epoch(epoch);
    loader.start_epoch(epoch);
    for (std::uint64_t b = 0; b < 2; ++b) {
      const auto got = source.next();
      const auto want = loader.next();
      REQUIRE(got);
      REQUIRE(want);
      CHECK(got->index == b);
      CHECK(got->images == 8);
      CHECK(got->views.shape() == want->views.shape());
      const auto a = got->views.values(), w = want->views.values();
      CHECK(std::equal(a.begin(), a.end(), w.begin(), w.end()));
    }
    CHECK(!source.next());
  }
}

TEST_CASE("batch_source: device_augment is refused for a host backend") {
  const test::toy_images data(20, 10, 4, 5);
  const auto policy = augment::fashion_mnist_policy(10);
  using source_t = train::batch_source<cpu_t, test::toy_images, decltype(policy)>;
  CHECK_THROWS_WITH_AS(source_t(data, policy, {.batch_size = 8, .device_augment = true}),
                       doctest::Contains("device_augment needs a device model"), value_error);
}
