// redundancy_fmnist: Barlow Twins or VICReg on Fashion-MNIST — the objectives without negatives —
// through the same model and train::fit as SimCLR, then the same evaluation as fmnist_simclr:
// linear and kNN on the encoder's h next to a randomly initialised encoder and raw pixels.
//
//   redundancy_fmnist [--loss vicreg|barlow-twins] [--epochs 2] [--batch-size 256]
//                     [--subset 40000] [--eval-train 10000] [--projector 512] [--lr LR]
//                     [--lambda 0.0051] [--threads N] [--out redundancy-run] [--resume]
//                     [--seed 0] [--data DIR]
//
// The recipe (docs/training.md, "Barlow Twins and VICReg"): the encoder of fmnist_simclr
// (ResNet-18 basic blocks, widths 16/32/64/128, CIFAR stem, h of 128 features); a projector
// Linear(128, P)–BN–ReLU–Linear(P, P) (the papers use three layers of 8192; P = 512 here); the
// augmentations of recipe fmnist-r18w16-mild; SGD momentum 0.9 Nesterov, weight decay 5e-4,
// lr LR·B/256 with one warm-up epoch and cosine decay. VICReg with the paper's 25/25/1 and
// LR 0.3; Barlow Twins with λ = --lambda and LR 0.02 (its loss is not divided by the projector
// width: at 0.3 it trains worse than a random encoder, 73.8 % linear; docs/results.md).
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_checks.hpp"

#include <simclr/augment/policy.hpp>
#include <simclr/eval/represent.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/io/image.hpp>
#include <simclr/io/weights.hpp>
#include <simclr/loss/barlow_twins.hpp>
#include <simclr/loss/vicreg.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/plot/line_chart.hpp>
#include <simclr/train/trainer.hpp>

#include "fmnist_common.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {

struct settings {
  std::string loss = "vicreg";
  index_t epochs = 2, batch = 256, projector = 512, width = 16;
  double base_lr = 0.3, lambda = 0.0051;  // base_lr: the loss's default unless --lr
  std::uint64_t seed = 0;
  fs::path out = "redundancy-run";
  bool resume = false;
};

/// Pre-trains an encoder with `objective` (any contrastive_loss) and returns it.
template <class Loss>
auto pretrain(const settings& s, Loss objective, const data::dataset& images) {
  const index_t h_dim = 8 * s.width;
  model net{fmnist::make_encoder(s.width, s.seed),
            head::mlp<float>::v1({.in = h_dim, .hidden = s.projector, .out = s.projector,
                                  .batch_norm = true, .seed = s.seed + 1}),
            std::move(objective)};
  optim::sgd<float> sgd({.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  const auto fit = train::fit(
      net, sgd, images, fmnist::policy(0.35),
      {.epochs = s.epochs, .batch_size = s.batch, .seed = s.seed, .base_lr = s.base_lr,
       .warmup_epochs = 1, .out_dir = s.out, .loader_threads = 1,
       .metadata = {{"method", s.loss}}},
      s.resume ? std::optional<fs::path>(s.out / "checkpoint.safetensors") : std::nullopt);
  std::printf("trained %td epochs (%zu steps this run) in %.1f s: %.0f views/s; last loss %.4f\n",
              fit.epochs_done, fit.steps.size(), fit.seconds,
              2.0 * double(s.batch) * double(fit.steps.size()) / std::max(fit.seconds, 1e-9),
              fit.steps.empty() ? 0.0 : fit.steps.back().loss);
  return std::move(net.encoder());
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"Barlow Twins or VICReg on Fashion-MNIST, evaluated against a random encoder and "
               "raw pixels"};
  settings s;
  index_t subset = 40000, eval_train = 10000;
  std::size_t threads = 0;
  std::string dir = data::fashion_mnist_default_dir, out = s.out.string();
  std::optional<double> lr;
  app.add_option("--loss", s.loss, "the objective")->check(CLI::IsMember({"vicreg", "barlow-twins"}));
  app.add_option("--epochs", s.epochs, "epochs over the training subset")
      ->check(cli_checks::positive);
  app.add_option("--batch-size", s.batch, "images per step (2x views)")
      ->check(cli_checks::positive);
  app.add_option("--subset", subset, "training images for pre-training (0: all 60000)")
      ->check(cli_checks::non_negative);
  app.add_option("--eval-train", eval_train, "labelled training images for the evaluations (0: all)")
      ->check(cli_checks::non_negative);
  app.add_option("--projector", s.projector, "projector width P (hidden and output)")
      ->check(cli_checks::positive);
  app.add_option("--lr", lr, "peak learning rate at batch 256 (vicreg 0.3, barlow-twins 0.02)")
      ->check(cli_checks::positive);
  app.add_option("--lambda", s.lambda, "Barlow Twins' off-diagonal weight")
      ->check(cli_checks::non_negative);
  app.add_option("--threads", threads, "CPU threads (default: all)")
      ->check(CLI::Range(std::size_t{1}, parallel::max_threads));
  app.add_option("--out", out, "output folder: log, checkpoint, weights, loss curve");
  app.add_flag("--resume", s.resume, "continue from <out>/checkpoint.safetensors");
  app.add_option("--seed", s.seed, "seed of every random draw");
  app.add_option("--data", dir, "folder with the Fashion-MNIST IDX files");
  CLI11_PARSE(app, argc, argv);
  s.out = out;
  s.base_lr = lr ? *lr : s.loss == "vicreg" ? 0.3 : 0.02;
  if (threads > 0) parallel::set_num_threads(threads);

  const auto t_all = fmnist::clock_type::now();
  const auto [train_full, test, pretrain_set, labelled] = fmnist::load(dir, subset, eval_train, s.seed);
  std::printf("Fashion-MNIST: %s on %td images (projector %td, lr %g), evaluation trained on %td "
              "labelled and tested on %td images; %zu threads\n",
              s.loss.c_str(), pretrain_set.size(), s.projector, s.base_lr, labelled.size(),
              test.size(), parallel::num_threads());
  auto encoder = s.loss == "vicreg"
                     ? pretrain(s, loss::vicreg<float>(), pretrain_set)
                     : pretrain(s, loss::barlow_twins<float>({.lambda = s.lambda}), pretrain_set);
  io::save_weights<float>(encoder, s.out / "encoder.safetensors", {{"method", s.loss}});

  (void)fmnist::compare_to_baselines(s.loss, encoder, s.width, s.seed, labelled, test);

  const auto losses = fmnist::logged_losses(s.out / "train.jsonl");
  plot::line_chart_options lo;
  lo.title = s.loss == "vicreg" ? "VICREG LOSS PER STEP" : "BARLOW TWINS LOSS PER STEP";
  lo.x_label = "STEP";
  lo.y_label = "LOSS";
  io::write_png(s.out / "loss.png", plot::line_chart(std::span<const double>(losses), lo));
  std::printf("wrote %s/{loss.png, encoder.safetensors, train.jsonl, checkpoint.safetensors}\n"
              "total %.1f s\n", s.out.string().c_str(), fmnist::since(t_all));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "redundancy_fmnist: %s\n", e.what());
  return 1;
}
