// image_folder_simclr: SimCLR on a folder of images (one sub-folder per class) with the CIFAR
// recipe, then linear evaluation and kNN on a test folder. With --cifar10 it reads the CIFAR-10
// JPEG archives (shared/data/cifar10-jpg) directly: no extraction, no temporary folder, no shell.
//
//   image_folder_simclr --train DIR --test DIR [--epochs 1] [--batch-size 256] [--out cifar-run]
//   image_folder_simclr --cifar10 [ARCHIVE-DIR] [--subset 5000] ...
//
// CIFAR recipe (docs/training.md): ResNet-18 CIFAR stem (base width --width, 64 in the paper),
// policy cifar_policy() (crop 32, s = 0.5, no blur), head v1 with BN, NT-Xent τ 0.5, LARS-free
// SGD momentum 0.9 (the paper uses LARS at batch 512 with lr 1.0; see docs/training.md).
#include <cstdio>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_checks.hpp"

#include <simclr/augment/policy.hpp>
#include <simclr/data/image_archive.hpp>
#include <simclr/data/image_folder.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/eval/represent.hpp>
#include <simclr/eval/knn.hpp>
#include <simclr/eval/linear.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/io/weights.hpp>
#include <simclr/loss/nt_xent.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/train/trainer.hpp>

using namespace simclr;
namespace fs = std::filesystem;

int main(int argc, char** argv) try {
  CLI::App app{"SimCLR on an image folder (CIFAR recipe)"};
  std::string train_dir, test_dir, cifar, out = "cifar-run";
  index_t epochs = 1, batch = 256, subset = 0, width = 64;
  std::uint64_t seed = 0;
  app.add_option("--train", train_dir, "training folder: one sub-folder per class");
  app.add_option("--test", test_dir, "test folder for the evaluation");
  app.add_option("--cifar10", cifar, "folder holding cifar10-{train,test}-jpg.tar.gz")
      ->expected(0, 1)
      ->default_str("../shared/data/cifar10-jpg");
  app.add_option("--epochs", epochs)->check(cli_checks::positive);
  app.add_option("--batch-size", batch)->check(cli_checks::positive);
  app.add_option("--subset", subset, "use this many training images (0: all)")
      ->check(cli_checks::non_negative);
  app.add_option("--width", width, "ResNet-18 base width (64 is the standard network)")
      ->check(cli_checks::positive);
  app.add_option("--seed", seed);
  app.add_option("--out", out);
  CLI11_PARSE(app, argc, argv);
  data::dataset train_full, test;
  if (app.count("--cifar10") > 0) {
    if (cifar.empty()) cifar = "../shared/data/cifar10-jpg";
    std::printf("reading the CIFAR-10 JPEG archives in %s ...\n", cifar.c_str());
    train_full = data::read_image_archive(fs::path(cifar) / "cifar10-train-jpg.tar.gz",
                                          {.images = {}, .folder = "train"});
    test = data::read_image_archive(fs::path(cifar) / "cifar10-test-jpg.tar.gz",
                                    {.images = {}, .folder = "test"});
  } else {
    if (train_dir.empty() || test_dir.empty())
      throw value_error("give --train and --test folders, or --cifar10 (see --help)");
    train_full = data::read_image_folder(train_dir);
    test = data::read_image_folder(test_dir);
  }
  const auto train = subset > 0 && subset < train_full.size()
                         ? data::random_subset(train_full, subset, seed)
                         : train_full;
  std::printf("%td training and %td test images of %tdx%tdx%td, %td classes\n", train.size(),
              test.size(), train.height(), train.width(), train.channels(), train.num_classes);

  auto f = encoders::resnet18<float>({.base_width = width, .in_channels = train.channels(),
                                      .stem = encoders::stem::cifar, .seed = seed});
  const index_t dim = f.output_dim();
  model net{std::move(f), head::mlp<float>::v1({.in = dim, .out = 128, .seed = seed}),
            loss::nt_xent<float>({.temperature = 0.5})};
  optim::sgd<float> sgd({.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  const auto policy = augment::cifar_policy();
  const auto r = train::fit(net, sgd, train, policy,
                            {.epochs = epochs, .batch_size = batch, .seed = seed,
                             .out_dir = out, .metadata = {{"recipe", "cifar"}}});
  std::printf("trained %td epochs in %.1f s (%.1f%% waiting for data)\n", r.epochs_done, r.seconds,
              100 * r.data_wait_seconds / std::max(1e-9, r.seconds));
  io::save_weights<float>(net.encoder(), fs::path(out) / "encoder.safetensors");
  const auto htr = eval::represent(net.encoder(), train), hte = eval::represent(net.encoder(), test);
  const auto lin = eval::linear_eval(htr, train.labels, hte, test.labels, train.num_classes);
  const auto knn = eval::knn_classify(htr, train.labels, hte, test.labels, train.num_classes);
  std::printf("linear eval %.2f%%, kNN %.2f%% (trained on %td labelled images)\n",
              100 * lin.test_accuracy, 100 * knn.accuracy, train.size());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "image_folder_simclr: %s\n", e.what());
  return 1;
}
