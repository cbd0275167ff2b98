// The command-line flags the Fashion-MNIST method examples share (byol_fmnist, moco_fmnist).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_checks.hpp"

#include "fmnist_common.hpp"

namespace fmnist {

/// The run's size, data, output and seed: what every method example takes the same way.
struct run_flags {
  index_t epochs = 2, batch = 256, subset = 40000, eval_train = 10000, width = 16;
  double base_lr = 0.3;
  std::size_t threads = 0;
  std::uint64_t seed = 0;
  std::string out = "run", dir = data::fashion_mnist_default_dir;
  bool resume = false;

  /// Registers the flags on `app`; `method` names the pre-training in the help.
  void add_to(CLI::App& app, const std::string& method) {
    app.add_option("--epochs", epochs, method + " epochs over the training subset")
        ->check(cli_checks::positive);
    app.add_option("--batch-size", batch, "images per step (2x views)")
        ->check(cli_checks::positive);
    app.add_option("--subset", subset, "training images for " + method + " (0: all 60000)")
        ->check(cli_checks::non_negative);
    app.add_option("--eval-train", eval_train, "labelled training images for the evaluations (0: all)")
        ->check(cli_checks::non_negative);
    app.add_option("--width", width, "ResNet-18 base width")->check(cli_checks::positive);
    app.add_option("--lr", base_lr, "peak learning rate at batch 256")->check(cli_checks::positive);
    app.add_option("--threads", threads, "CPU threads (default: all)")
        ->check(CLI::Range(std::size_t{1}, parallel::max_threads));
    app.add_option("--out", out, "output folder: log, checkpoint, weights, loss curve");
    app.add_flag("--resume", resume, "continue from <out>/checkpoint.safetensors");
    app.add_option("--seed", seed, "seed of every random draw");
    app.add_option("--data", dir, "folder with the Fashion-MNIST IDX files");
  }
};

}  // namespace fmnist
