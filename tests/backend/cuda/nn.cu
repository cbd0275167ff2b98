// CPU-vs-CUDA parity of every nn layer's forward and backward (float; tolerances per op below).
#include "parity.cuh"

using namespace simclr;
using parity::check_close;
using parity::random_host;

namespace {
/// Runs forward (train) and backward of a layer on both backends from the same state and
/// inputs; compares y, dx and every state tensor (values, gradients, running statistics), the
/// state within `state_tol` when given (long weight-gradient sums), else within `tol`.
template <class CpuLayer, class CudaLayer>
void check_layer(CpuLayer& cpu, CudaLayer& gpu, const shape& in, const std::string& what,
                 double tol, double state_tol = -1) {
  parity::copy_state<float>(cpu, gpu);
  const auto x = random_host(in, 11);
  const auto y = cpu.forward(x, mode::train);
  const auto yg = gpu.forward(to_device(x), mode::train);
  check_close(y, yg, tol, what + " forward");
  const auto dy = random_host(y.shape(), 12);
  const auto dx = cpu.backward(dy);
  const auto dxg = gpu.backward(to_device(dy));
  CHECK(dx.shape() == dxg.shape());
  if (!dx.empty()) check_close(dx, dxg, tol, what + " backward dx");
  parity::check_state<float>(cpu, gpu, state_tol >= 0 ? state_tol : tol);
  // Evaluation mode (BatchNorm: running statistics) on fresh inputs.
  const auto x2 = random_host(in, 13);
  check_close(cpu.forward(x2, mode::eval), gpu.forward(to_device(x2), mode::eval), tol,
              what + " eval forward");
}
}  // namespace

TEST_CASE("cuda conv2d matches the cpu: kernels 1/3/7, strides 1/2, padding, bias, groups") {
  struct geometry {
    index_t n, c, h, w, c_out, k, stride, pad;
    bool bias;
  };
  // Tolerance 1e-4: float sums of up to 7·7·3 = 147 products, in another order (cuBLAS).
  for (const geometry& t : {geometry{2, 3, 9, 7, 4, 3, 1, 1, false},
                            geometry{3, 5, 8, 8, 6, 3, 2, 1, true},
                            geometry{2, 3, 15, 13, 4, 7, 2, 3, false},
                            geometry{4, 8, 6, 6, 16, 1, 2, 0, false},
                            geometry{2, 4, 5, 5, 3, 1, 1, 0, true},
                            geometry{1, 2, 3, 3, 2, 3, 1, 0, false}}) {
    const nn::conv2d_options o{t.c, t.c_out, t.k, t.stride, t.pad, t.bias};
    nn::conv2d<float> cpu(o);
    nn::conv2d<float, cuda_t> gpu(o);
    cpu.reset_parameters(random::key(3));
    if (t.bias) cpu.bias() = random_host(cpu.bias().shape(), 4);
    check_layer(cpu, gpu, shape{t.n, t.c, t.h, t.w}, "conv2d k" + std::to_string(t.k), 1e-4);
  }
}

TEST_CASE("cuda conv2d splits large batches into groups with the same result") {
  // 1×1 conv, 64 → 64 channels on 64×64 maps: 2¹⁸ column elements per image, so the
  // 2²⁶-element scratch budget takes 256 images per group: 300 images make two groups.
  const nn::conv2d_options o{64, 64, 1, 1, 0, false};
  nn::conv2d<float> cpu(o);
  nn::conv2d<float, cuda_t> gpu(o);
  CHECK(nn::conv2d_kernel<cuda_t>::group_size(nn::window2d{300, 64, 64, 64, 1, 1, 1, 0}, 64) ==
        256);
  cpu.reset_parameters(random::key(5));
  // y and dx: sums of 64 products, 1e-4. dw: each entry sums 300·64·64 ≈ 1.2M products
  // (|dw| ≈ 365), so float rounding alone leaves ~1e-3 absolute — the CPU's own float dw is
  // 1.7e-4 from the exact one relative to 1 + |dw|, a plain sequential float sum 8e-3 — hence
  // 2e-2 for the state; a lost or misplaced group would be off by O(1).
  check_layer(cpu, gpu, shape{300, 64, 64, 64}, "conv2d grouped", 1e-4, 2e-2);
}

TEST_CASE("cuda batch_norm matches the cpu: (N, C, H, W) and (N, C), train, eval, running stats") {
  // Tolerance 1e-4: double sums on both sides; the outputs are normalised (|y| ≲ 4).
  for (const shape& s : {shape{4, 3, 5, 6}, shape{16, 7}, shape{2, 5, 9}}) {
    nn::batch_norm<float> cpu({s[1]});
    nn::batch_norm<float, cuda_t> gpu({s[1]});
    cpu.gamma() = random_host(cpu.gamma().shape(), 6, 0.5f, 1.5f);
    cpu.beta() = random_host(cpu.beta().shape(), 7);
    check_layer(cpu, gpu, s, "batch_norm " + s.to_string(), 1e-4);
    CHECK(gpu.num_batches_tracked() == 1);
  }
}

TEST_CASE("cuda max_pool2d and global_avg_pool match the cpu (overlapping windows, padding)") {
  // Max pooling and its backward are exact: the same argmax and the same summation order.
  for (const auto& o : {nn::max_pool2d_options{3, 2, 1}, nn::max_pool2d_options{2, 2, 0},
                        nn::max_pool2d_options{3, 1, 1}}) {
    nn::max_pool2d<float> cpu(o);
    nn::max_pool2d<float, cuda_t> gpu(o);
    check_layer(cpu, gpu, shape{2, 3, 9, 8}, "max_pool2d k" + std::to_string(o.kernel_size), 0.0);
  }
  nn::global_avg_pool<float> cpu;
  nn::global_avg_pool<float, cuda_t> gpu;
  check_layer(cpu, gpu, shape{3, 4, 5, 5}, "global_avg_pool", 1e-6);
}

TEST_CASE("cuda relu, residual add, linear match the cpu") {
  nn::relu<float> relu_cpu;
  nn::relu<float, cuda_t> relu_gpu;
  check_layer(relu_cpu, relu_gpu, shape{3, 4, 5}, "relu", 0.0);

  const auto a = random_host(shape{5, 6}, 21), b = random_host(shape{5, 6}, 22);
  check_close(nn::residual_add(a, b), nn::residual_add(to_device(a), to_device(b)), 0.0,
              "residual_add");

  // Tolerance 1e-5: sums of 37 products (GEMM), bias sums over 9 rows.
  nn::linear<float> lin_cpu({37, 11});
  nn::linear<float, cuda_t> lin_gpu({37, 11});
  lin_cpu.reset_parameters(random::key(8));
  check_layer(lin_cpu, lin_gpu, shape{9, 37}, "linear", 1e-5);
}

TEST_CASE("cuda layers reject bad shapes before launching anything") {
  nn::conv2d<float, cuda_t> conv({3, 4, 3, 1, 1, false});
  CHECK_THROWS_AS((void)conv.forward(tensor<float, cuda_t>(shape{2, 5, 8, 8}), mode::train),
                  shape_error);
  nn::batch_norm<float, cuda_t> bn({4});
  CHECK_THROWS_AS((void)bn.forward(tensor<float, cuda_t>(shape{2, 3, 4, 4}), mode::train),
                  shape_error);
  nn::max_pool2d<float, cuda_t> pool;
  CHECK_THROWS_AS((void)pool.forward(tensor<float, cuda_t>(shape{2, 3, 4}), mode::train),
                  shape_error);
}
