// The fault tests of data-parallel training (CTest "mpi fault: …", tests/CMakeLists.txt): a
// 2-process job trains one epoch through train::fit (rank 0 writes the checkpoint), then in the
// next step one rank fails:
//   fault hang <dir>   rank 1 sleeps far past the collective timeout (SIMCLR_COLLECTIVE_TIMEOUT)
//                      while rank 0 waits in the step's first collective: rank 0's watchdog
//                      ends the job with a message naming its rank and the collective;
//   fault exit <dir>   rank 1 exits mid-step without finalising MPI: the launcher ends the job;
//   fault verify <dir> (one process) the checkpoint left behind loads into a fresh model.
// CTest checks the message, that the job ends well within its time limit, and that verify
// passes afterwards.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <simclr/augment/policy.hpp>
#include <simclr/distributed/data_parallel.hpp>
#include <simclr/distributed/gathered_nt_xent.hpp>
#include <simclr/distributed/mpi.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/head/mlp.hpp>
#include <simclr/model.hpp>
#include <simclr/optim/sgd.hpp>
#include <simclr/train/checkpoint.hpp>
#include <simclr/train/trainer.hpp>

#include "support/toy_data.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {
encoders::resnet<encoders::basic_block, float> make_encoder() {
  return encoders::resnet<encoders::basic_block, float>(
      {.blocks = {1, 1}, .base_width = 4, .in_channels = 1, .stem = encoders::stem::cifar, .seed = 1});
}
head::mlp<float> make_head() {
  return head::mlp<float>::v1({.in = 8, .hidden = 8, .out = 4, .batch_norm = true, .seed = 2});
}
train::trainer_options options(const fs::path& dir) {
  return {.epochs = 2, .stop_after_epochs = 1, .batch_size = 8, .seed = 3, .base_lr = 0.05,
          .warmup_epochs = 0, .out_dir = dir, .progress = train::progress_style::none,
          .metadata = {}};
}
}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fault hang|exit|verify <dir>\n");
    return 2;
  }
  const std::string mode = argv[1];
  const fs::path dir = argv[2];
  if (mode == "verify") {  // one process: the checkpoint loads, at the end of epoch 1
    model net{make_encoder(), make_head(), loss::nt_xent<float>({.temperature = 0.5})};
    optim::sgd<float> opt(optim::sgd_options{.momentum = 0.9});
    const auto info = train::load_checkpoint(dir / "checkpoint.safetensors", net, opt);
    std::printf("fault verify: checkpoint loads: epoch %lld, step %lld\n",
                static_cast<long long>(info.epoch), static_cast<long long>(info.step));
    return info.epoch == 1 && info.step == 2 ? 0 : 1;
  }
  distributed::mpi_environment mpi(&argc, &argv);
  distributed::mpi_communicator comm;
  using loss_t = distributed::gathered_nt_xent<float, distributed::mpi_communicator>;
  model net{make_encoder(), make_head(), loss_t(comm, {.temperature = 0.5})};
  distributed::data_parallel dp(net, comm);
  optim::sgd<float> opt(optim::sgd_options{.momentum = 0.9});
  const test::toy_images data(16, 12, 2, 7);
  const auto policy = augment::fashion_mnist_policy(10);
  (void)train::fit(dp, opt, data, policy, options(dir));  // epoch 1, checkpoint by rank 0
  std::printf("rank %d: epoch 1 done, timeout %g s\n", comm.rank(), comm.timeout_seconds());
  std::fflush(stdout);
  if (comm.rank() == 1) {
    if (mode == "hang") std::this_thread::sleep_for(std::chrono::seconds(120));
    if (mode == "exit") std::_Exit(3);
  }
  // The next step: rank 0 waits in its first collective (a global BatchNorm sum).
  tensor<float> views(shape{8, 1, 10, 10});
  (void)dp.forward_backward(views);
  std::printf("rank %d: the step finished, which the fault should have prevented\n", comm.rank());
  return 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fault: %s\n", e.what());
  return 1;
}
