// distributed_fmnist: SimCLR on Fashion-MNIST trained by k processes as one — each process
// makes and computes its slice of every global batch; negatives come from every process
// (gathered_nt_xent), BatchNorm normalises over the global batch, gradients are summed
// (distributed::data_parallel). Rank 0 writes the log and checkpoints, then evaluates the
// encoder (linear and kNN) next to raw pixels. The recipe is fmnist_simclr's default
// (fmnist-r18w16-mild), so the figures compare with it.
//
//   mpirun -np 2 distributed_fmnist [--epochs 2] [--batch-size 256] [--subset 40000]
//                                   [--eval-train 10000] [--out dist-run] [--resume] [--seed 0]
//                                   [--data DIR]
//   (OpenMPI as root: add --allow-run-as-root; more processes than cores: --oversubscribe)
//
// Each process uses its share of the machine's cores (hardware threads / processes on this
// machine; mpi_environment sizes the thread pool, SIMCLR_NUM_THREADS overrides). --batch-size is the global batch; a number of
// processes that does not divide it gives the processes slices one image apart.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_checks.hpp"

#include <simclr/augment/policy.hpp>
#include <simclr/distributed/data_parallel.hpp>
#include <simclr/distributed/gathered_nt_xent.hpp>
#include <simclr/distributed/mpi.hpp>
#include <simclr/distributed/world.hpp>
#include <simclr/eval/represent.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/io/weights.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/train/trainer.hpp>

#include "fmnist_common.hpp"

using namespace simclr;
namespace fs = std::filesystem;

int main(int argc, char** argv) try {
  const distributed::world_info world = distributed::world_from_environment();
  distributed::mpi_environment mpi(&argc, &argv);  // and this process's share of the cores
  distributed::mpi_communicator comm;
  const bool lead = comm.rank() == 0;

  CLI::App app{"SimCLR on Fashion-MNIST with k processes (mpirun), evaluated on rank 0"};
  index_t epochs = 2, batch = 256, subset = 40000, eval_train = 10000, width = 16;
  std::uint64_t seed = 0;
  std::string out = "dist-run", dir = data::fashion_mnist_default_dir;
  bool resume = false;
  app.add_option("--epochs", epochs, "SimCLR epochs over the training subset")
      ->check(cli_checks::positive);
  app.add_option("--batch-size", batch, "global batch: images per step over all processes")
      ->check(cli_checks::positive);
  app.add_option("--subset", subset, "training images for SimCLR (0: all 60000)")
      ->check(cli_checks::non_negative);
  app.add_option("--eval-train", eval_train, "labelled training images for the evaluations (0: all)")
      ->check(cli_checks::non_negative);
  app.add_option("--out", out, "output folder (rank 0 writes): log, checkpoint, weights");
  app.add_flag("--resume", resume, "continue from <out>/checkpoint.safetensors (any process count)");
  app.add_option("--seed", seed, "seed of every random draw");
  app.add_option("--data", dir, "folder with the Fashion-MNIST IDX files");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return lead ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 1);
  }
  if (batch < comm.size())
    throw value_error("--batch-size " + std::to_string(batch) + " is less than one image for each of the " +
                      std::to_string(comm.size()) + " processes");

  const auto t_all = fmnist::clock_type::now();
  const auto [train_full, test, pretrain, labelled] = fmnist::load(dir, subset, eval_train, seed);
  if (lead)
    std::printf("Fashion-MNIST: SimCLR on %td images with %d processes (%s launcher) × %zu "
                "threads, global batch %td (%s per process)\n",
                pretrain.size(), comm.size(), world.launcher.c_str(), parallel::num_threads(),
                batch,
                (std::to_string(batch / comm.size()) +
                 (batch % comm.size() != 0 ? " or " + std::to_string(batch / comm.size() + 1) : ""))
                    .c_str());

  // ---- SimCLR pre-training, the recipe fmnist-r18w16-mild -----------------------------------
  const index_t h_dim = 8 * width;
  using loss_t = distributed::gathered_nt_xent<float, distributed::mpi_communicator>;
  model net{fmnist::make_encoder(width, seed),
            head::mlp<float>::v1({.in = h_dim, .hidden = 128, .out = 128, .batch_norm = false, .seed = seed}),
            loss_t(comm, {.temperature = 0.2})};
  distributed::data_parallel dp(net, comm);  // rank 0's weights everywhere, checked
  optim::sgd<float> sgd({.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  const fs::path out_dir = out;
  const auto policy = fmnist::policy(0.35);
  const auto fit = train::fit(
      dp, sgd, pretrain, policy,
      {.epochs = epochs, .batch_size = batch, .seed = seed, .base_lr = 0.3, .warmup_epochs = 1,
       .out_dir = out_dir, .loader_threads = 1,
       .progress = lead ? train::progress_style::automatic : train::progress_style::none,
       .metadata = {{"recipe", "fmnist-r18w16-mild"}, {"processes", std::to_string(comm.size())}}},
      resume ? std::optional<fs::path>(out_dir / "checkpoint.safetensors") : std::nullopt);
  if (!lead) return 0;
  std::printf("trained %td epochs (%zu steps this run) in %.1f s: %.0f views/s over all "
              "processes; last loss %.4f, contrastive top-1 %.1f%%\n",
              fit.epochs_done, fit.steps.size(), fit.seconds,
              2.0 * double(batch) * double(fit.steps.size()) / std::max(fit.seconds, 1e-9),
              fit.steps.empty() ? 0.0 : fit.steps.back().loss,
              fit.steps.empty() ? 0.0 : 100.0 * fit.steps.back().top1);
  io::save_weights<float>(net.encoder(), out_dir / "encoder.safetensors",
                          {{"recipe", "fmnist-r18w16-mild"}});

  // ---- evaluation on rank 0 (every rank holds the same encoder) -----------------------------
  const auto t0 = fmnist::clock_type::now();
  const auto trained = fmnist::evaluate(eval::represent(net.encoder(), labelled), labelled,
                                        eval::represent(net.encoder(), test), test);
  const auto raw = fmnist::evaluate(fmnist::pixels(labelled), labelled, fmnist::pixels(test), test);
  std::printf("evaluation took %.1f s\n\n", fmnist::since(t0));
  std::printf("  representation               linear eval   kNN (k=200)\n");
  std::printf("  SimCLR encoder (h, %3td-d)     %6.2f%%       %6.2f%%\n", h_dim, 100 * trained.linear, 100 * trained.knn);
  std::printf("  raw pixels (784-d)            %6.2f%%       %6.2f%%\n\n", 100 * raw.linear, 100 * raw.knn);
  std::printf("wrote %s/{encoder.safetensors, train.jsonl, checkpoint.safetensors}; total %.1f s\n",
              out.c_str(), fmnist::since(t_all));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "distributed_fmnist: %s\n", e.what());
  return 1;
}
