// Precision modes of the float GEMMs: fp32 / tf32 / bf16, the per-thread scope, and the losses'
// full-float GEMMs under bf16.
#include "parity.cuh"

#include <cmath>

using namespace simclr;
using cuda_backend::precision;
using parity::random_host;

namespace {
/// Restores the process-wide mode at the end of a test.
struct restore_precision {
  precision saved = cuda_backend::current_precision();
  ~restore_precision() { cuda_backend::set_precision(saved); }
};

/// max |a − b| / max |a| of a host and a device tensor of the same shape.
double relative_to_scale(const tensor<float>& cpu, const tensor<float, cuda_t>& gpu) {
  REQUIRE(cpu.shape() == gpu.shape());
  const auto back = to_host(gpu);
  double worst = 0, scale = 0;
  for (index_t i = 0; i < cpu.numel(); ++i) {
    worst = std::max(worst, std::abs(double(cpu.data()[i]) - double(back.data()[i])));
    scale = std::max(scale, std::abs(double(cpu.data()[i])));
  }
  return worst / scale;
}
}  // namespace

TEST_CASE("cuda precision: set_precision, nested scopes, set_tf32 as before") {
  restore_precision guard;
  cuda_backend::set_precision(precision::bf16);
  CHECK(cuda_backend::current_precision() == precision::bf16);
  CHECK(cuda_backend::loss_precision() == precision::fp32);
  {
    const cuda_backend::precision_scope outer(precision::tf32);
    CHECK(cuda_backend::current_precision() == precision::tf32);
    CHECK(cuda_backend::loss_precision() == precision::tf32);
    {
      const cuda_backend::precision_scope inner(precision::fp32);
      CHECK(cuda_backend::current_precision() == precision::fp32);
    }
    CHECK(cuda_backend::current_precision() == precision::tf32);
  }
  CHECK(cuda_backend::current_precision() == precision::bf16);
  cuda_backend::set_tf32(true);
  CHECK(cuda_backend::tf32_enabled());
  CHECK(std::string(cuda_backend::to_string(cuda_backend::current_precision())) == "tf32");
  cuda_backend::set_tf32(false);
  CHECK(cuda_backend::current_precision() == precision::fp32);
}

TEST_CASE("cuda precision: a 3×3 convolution in each mode against the cpu, both directions") {
  restore_precision guard;
  const nn::conv2d_options o{16, 32, 3, 1, 1, true};
  nn::conv2d<float> cpu(o);
  cpu.reset_parameters(random::key(3));
  const auto x = random_host(shape{8, 16, 12, 12}, 4);
  const auto dy = random_host(shape{8, 32, 12, 12}, 6);
  const auto y = cpu.forward(x, mode::train);
  const auto dx = cpu.backward(dy);
  // Inputs rounded to a 24-, 11- and 8-bit significand, 144 (dx: 288, dw: 1152) products summed
  // in float: errors relative to the output's scale well under 2⁻²⁴·12, 2⁻¹¹·4 and 2⁻⁸·4. Under
  // bf16 the columns, the weights and dy are stored in bf16 (run_bf16); the bias gradient sums
  // dy itself and stays exact to float.
  for (const auto& [p, tol] : {std::pair{precision::fp32, 1e-5}, std::pair{precision::tf32, 2e-3},
                               std::pair{precision::bf16, 1.6e-2}}) {
    cuda_backend::set_precision(p);
    nn::conv2d<float, cuda_t> gpu(o);
    parity::copy_state<float>(cpu, gpu);
    memory<cuda_t>::zero(gpu.weight_grad().data(), gpu.weight_grad().bytes());
    memory<cuda_t>::zero(gpu.bias_grad().data(), gpu.bias_grad().bytes());
    const auto yg = gpu.forward(to_device(x), mode::train);
    const auto dxg = gpu.backward(to_device(dy));
    INFO(cuda_backend::to_string(p));
    CHECK(relative_to_scale(y, yg) <= tol);
    CHECK(relative_to_scale(dx, dxg) <= tol);
    CHECK(relative_to_scale(cpu.weight_grad(), gpu.weight_grad()) <= tol);
    CHECK(relative_to_scale(cpu.bias_grad(), gpu.bias_grad()) <= 1e-5);
  }
}

TEST_CASE("cuda precision: under bf16 the NT-Xent loss still runs its GEMMs in full float") {
  restore_precision guard;
  const auto z = random_host(shape{64, 32}, 5);
  loss::nt_xent<float, cuda_t> loss({.temperature = 0.1});
  cuda_backend::set_precision(precision::fp32);
  const auto a = loss(to_device(z));
  cuda_backend::set_precision(precision::bf16);
  const auto b = loss(to_device(z));
  CHECK(a.value == b.value);  // bit for bit: the same full-float GEMMs
  parity::check_close(to_host(a.dz), b.dz, 0.0, "dz under bf16 vs fp32");
}

TEST_CASE("cuda precision: a ResNet training step in bf16 stays close to the cpu's fp32 step") {
  restore_precision guard;
  const encoders::resnet_options o{.base_width = 16, .in_channels = 3,
                                   .stem = encoders::stem::cifar, .seed = 7};
  const auto make = [&]<class B>(B) {
    auto f = encoders::resnet18<float, B>(o);
    const index_t width = f.output_dim();
    return model{std::move(f), head::mlp<float, B>::v1({.in = width, .out = 16}),
                 loss::nt_xent<float, B>({.temperature = 0.5})};
  };
  auto cpu = make(cpu_t{});
  auto gpu = make(cuda_t{});
  parity::copy_state<float>(cpu, gpu);
  const auto views = random_host(shape{32, 3, 16, 16}, 8);
  optim::lars<float> opt_cpu;
  optim::lars<float, cuda_t> opt_gpu;
  cuda_backend::set_precision(precision::bf16);
  for (int step = 0; step < 2; ++step) {
    const auto mc = cpu.train_step(views, opt_cpu, 0.3);
    const auto mg = gpu.train_step(to_device(views), opt_gpu, 0.3);
    CAPTURE(step);
    // bf16 GEMM inputs (8-bit significands) through ~20 layers and BatchNorm: the loss to 2 %.
    CHECK(std::isfinite(mg.loss));
    CHECK(mg.loss == doctest::Approx(mc.loss).epsilon(2e-2));
  }
}
