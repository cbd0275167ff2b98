// moco_fmnist: MoCo v2 on Fashion-MNIST through the same train::fit as SimCLR — queries from an
// online network against keys from its momentum copy and a queue of earlier keys. Then the same
// evaluation as fmnist_simclr: linear and kNN on the encoder's h next to a randomly initialised
// encoder and raw pixels.
//
//   moco_fmnist [--epochs 2] [--batch-size 256] [--subset 40000] [--eval-train 10000]
//               [--lr 0.3] [--momentum 0.99] [--queue 4096] [--temperature 0.2] [--asymmetric]
//               [--local-crops 0] [--local-size 16] [--local-scale 0.1,0.4]
//               [--threads N] [--out moco-run] [--resume] [--seed 0] [--data DIR]
//
// The recipe (docs/training.md, "MoCo v2"): the encoder of fmnist_simclr (ResNet-18 basic
// blocks, widths 16/32/64/128, CIFAR stem, h of 128 features); MoCo v2's MLP head
// Linear(128, 128)–ReLU–Linear(128, 128); the augmentations of recipe fmnist-r18w16-mild; SGD
// momentum 0.9 Nesterov, weight decay 5e-4, lr 0.3·B/256 with one warm-up epoch and cosine
// decay; key momentum 0.99, a queue of 4096 keys, τ 0.2, symmetric queries. --local-crops M adds
// M small crops per image (multi-crop), each a query against its image's global keys.
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli_checks.hpp"

#include <simclr/augment/multi_crop.hpp>
#include <simclr/augment/policy.hpp>
#include <simclr/eval/represent.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/io/image.hpp>
#include <simclr/io/weights.hpp>
#include <simclr/methods/moco.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/plot/line_chart.hpp>
#include <simclr/train/trainer.hpp>

#include "fmnist_common.hpp"
#include "fmnist_flags.hpp"

using namespace simclr;
namespace fs = std::filesystem;

int main(int argc, char** argv) try {
  CLI::App app{"MoCo v2 on Fashion-MNIST, evaluated against a random encoder and raw pixels"};
  fmnist::run_flags f{.out = "moco-run"};
  index_t queue = 4096;
  double momentum = 0.99, temperature = 0.2;
  bool asymmetric = false;
  index_t local_crops = 0, local_size = 16;
  std::vector<double> local_scale{0.1, 0.4};
  f.add_to(app, "MoCo");
  app.add_option("--momentum", momentum, "the key network's momentum")->check(CLI::Range(0.0, 1.0));
  app.add_option("--queue", queue, "keys kept as negatives")->check(cli_checks::positive);
  app.add_option("--temperature", temperature, "InfoNCE temperature")->check(cli_checks::positive);
  app.add_flag("--asymmetric", asymmetric, "MoCo v2 as published: queries of view 1, keys of view 2");
  app.add_option("--local-crops", local_crops,
                 "multi-crop: small crops per image besides the two views (0: two views)")
      ->check(cli_checks::non_negative);
  app.add_option("--local-size", local_size, "side of the small crops in pixels")
      ->check(CLI::Range(4, 28));
  app.add_option("--local-scale", local_scale, "crop scale range of the small crops")
      ->expected(2)->check(CLI::Range(0.01, 1.0));
  CLI11_PARSE(app, argc, argv);
  if (local_scale[0] > local_scale[1])
    throw value_error("--local-scale " + std::to_string(local_scale[0]) + "," +
                      std::to_string(local_scale[1]) + ": expected lo ≤ hi");
  if (f.threads > 0) parallel::set_num_threads(f.threads);

  const auto t_all = fmnist::clock_type::now();
  const auto [train_full, test, pretrain, labelled] = fmnist::load(f.dir, f.subset, f.eval_train, f.seed);
  std::printf("Fashion-MNIST: MoCo v2 on %td images (width %td, lr %g, momentum %g, queue %td, "
              "tau %g%s%s), evaluation trained on %td labelled and tested on %td images; %zu "
              "threads\n",
              pretrain.size(), f.width, f.base_lr, momentum, queue, temperature,
              asymmetric ? ", asymmetric" : "",
              local_crops > 0 ? (", multi-crop 2x28 + " + std::to_string(local_crops) + "x" +
                                 std::to_string(local_size) + " px").c_str()
                              : "",
              labelled.size(), test.size(), parallel::num_threads());

  const index_t h_dim = 8 * f.width;
  methods::moco net{fmnist::make_encoder(f.width, f.seed),
                    head::mlp<float>::v1({.in = h_dim, .hidden = 128, .out = 128,
                                          .batch_norm = false, .seed = f.seed + 1}),
                    {.momentum = momentum, .queue_size = queue, .temperature = temperature,
                     .symmetric = !asymmetric}};
  optim::sgd<float> sgd({.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  const fs::path out_dir = f.out;
  // Two views and, with --local-crops, the small crops (0 crops: exactly the two-view batches).
  const augment::multi_crop views(fmnist::policy(0.35),
                                  augment::fashion_mnist_policy(local_size, {local_scale[0], local_scale[1]}),
                                  local_crops);
  const auto fit = train::fit(
      net, sgd, pretrain, views,
      {.epochs = f.epochs, .batch_size = f.batch, .seed = f.seed, .base_lr = f.base_lr,
       .warmup_epochs = 1, .out_dir = out_dir, .loader_threads = 1,
       .metadata = {{"method", "moco"}}},
      f.resume ? std::optional<fs::path>(out_dir / "checkpoint.safetensors") : std::nullopt);
  std::printf("trained %td epochs (%zu steps this run) in %.1f s: %.0f views/s; last loss %.4f, "
              "top-1 against the queue %.1f%%\n",
              fit.epochs_done, fit.steps.size(), fit.seconds,
              double(2 + local_crops) * double(f.batch) * double(fit.steps.size()) /
                  std::max(fit.seconds, 1e-9),
              fit.steps.empty() ? 0.0 : fit.steps.back().loss,
              fit.steps.empty() ? 0.0 : 100.0 * fit.steps.back().top1);
  io::save_weights<float>(net.encoder(), out_dir / "encoder.safetensors", {{"method", "moco"}});

  (void)fmnist::compare_to_baselines("MoCo", net.encoder(), f.width, f.seed, labelled, test);

  plot::line_chart_options lo;
  lo.title = "MOCO LOSS PER STEP";
  lo.x_label = "STEP";
  lo.y_label = "LOSS";
  const auto losses = fmnist::logged_losses(out_dir / "train.jsonl");
  io::write_png(out_dir / "loss.png", plot::line_chart(std::span<const double>(losses), lo));
  std::printf("wrote %s/{loss.png, encoder.safetensors, train.jsonl, checkpoint.safetensors}\n"
              "total %.1f s\n", f.out.c_str(), fmnist::since(t_all));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "moco_fmnist: %s\n", e.what());
  return 1;
}
