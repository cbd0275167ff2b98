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

/// Runs one CUDA convolution kernel struct K (conv2d_im2col_cuda or conv2d_cudnn) directly
/// against conv2d_kernel<cpu_t>: y, dx, dw (accumulated onto a non-zero start) and the bias
/// gradient. dw within `dw_tol` (long sums), the rest within `tol`.
template <class K>
void check_conv_kernel(const nn::window2d& g, index_t c_out, bool with_bias, double tol,
                       double dw_tol, const std::string& what) {
  const index_t ho = g.out_height(), wo = g.out_width();
  const auto x = random_host(shape{g.n, g.channels, g.height, g.width}, 21);
  const auto w = random_host(shape{c_out, g.channels, g.kernel_h, g.kernel_w}, 22);
  const auto b = random_host(shape{c_out}, 23);
  const auto dy = random_host(shape{g.n, c_out, ho, wo}, 24);
  const auto dw0 = random_host(w.shape(), 25);
  tensor<float> y(dy.shape()), dx(x.shape()), dw = dw0, db = b;
  nn::conv2d_kernel<cpu_t>::forward(g, c_out, x.data(), w.data(), with_bias ? b.data() : nullptr,
                                    y.data());
  nn::conv2d_kernel<cpu_t>::backward(g, c_out, x.data(), w.data(), dy.data(), dx.data(),
                                     dw.data(), with_bias ? db.data() : nullptr);
  const auto xg = to_device(x), wg = to_device(w), bg = to_device(b), dyg = to_device(dy);
  tensor<float, cuda_t> yg(dy.shape()), dxg(x.shape());
  auto dwg = to_device(dw0), dbg = to_device(b);
  K::forward(g, c_out, xg.data(), wg.data(), with_bias ? bg.data() : nullptr, yg.data());
  K::backward(g, c_out, xg.data(), wg.data(), dyg.data(), dxg.data(), dwg.data(),
              with_bias ? dbg.data() : nullptr);
  check_close(y, yg, tol, what + " y");
  check_close(dx, dxg, tol, what + " dx");
  check_close(dw, dwg, dw_tol, what + " dw");
  check_close(db, dbg, tol, what + " dbias");
}

struct conv_geometry {
  index_t n, c, h, w, c_out, k, stride, pad;
  bool bias;
};
// Kernels 1/3/7, strides 1/2, padding, bias, a window as large as the padded image.
const conv_geometry conv_cases[] = {{2, 3, 9, 7, 4, 3, 1, 1, false}, {3, 5, 8, 8, 6, 3, 2, 1, true},
                                    {2, 3, 15, 13, 4, 7, 2, 3, false}, {4, 8, 6, 6, 16, 1, 2, 0, false},
                                    {2, 4, 5, 5, 3, 1, 1, 0, true},    {1, 2, 3, 3, 2, 3, 1, 0, false}};
}  // namespace

TEST_CASE("cuda conv2d matches the cpu: kernels 1/3/7, strides 1/2, padding, bias, groups") {
  // Tolerance 1e-4: float sums of up to 7·7·3 = 147 products, in another order (cuDNN/cuBLAS).
  for (const conv_geometry& t : conv_cases) {
    const nn::conv2d_options o{t.c, t.c_out, t.k, t.stride, t.pad, t.bias};
    nn::conv2d<float> cpu(o);
    nn::conv2d<float, cuda_t> gpu(o);
    cpu.reset_parameters(random::key(3));
    if (t.bias) cpu.bias() = random_host(cpu.bias().shape(), 4);
    check_layer(cpu, gpu, shape{t.n, t.c, t.h, t.w}, "conv2d k" + std::to_string(t.k), 1e-4);
  }
}

TEST_CASE("cuda conv2d kernels, each path against the cpu: im2col + cuBLAS, and cuDNN") {
  // The im2col path is conv2d_kernel<cuda_t> in builds without cuDNN; test it in every build.
  for (const conv_geometry& t : conv_cases) {
    const nn::window2d g{t.n, t.c, t.h, t.w, t.k, t.k, t.stride, t.pad};
    check_conv_kernel<nn::conv2d_im2col_cuda>(g, t.c_out, t.bias, 1e-4, 1e-4,
                                              "im2col k" + std::to_string(t.k));
#if defined(SIMCLR_HAS_CUDNN)
    check_conv_kernel<nn::conv2d_cudnn>(g, t.c_out, t.bias, 1e-4, 1e-4,
                                        "cudnn k" + std::to_string(t.k));
#endif
  }
#if defined(SIMCLR_HAS_CUDNN)
  CHECK(std::is_base_of_v<nn::conv2d_cudnn, nn::conv2d_kernel<cuda_t>>);
#else
  CHECK(std::is_base_of_v<nn::conv2d_im2col_cuda, nn::conv2d_kernel<cuda_t>>);
#endif
}

TEST_CASE("cuda conv2d splits large batches into groups with the same result") {
  // 1×1 conv, 64 → 64 channels on 64×64 maps: 2¹⁸ column elements per image, so the im2col
  // path's 2²⁶-element scratch budget takes 256 images per group: 300 images make two groups.
  const nn::conv2d_options o{64, 64, 1, 1, 0, false};
  nn::conv2d<float> cpu(o);
  nn::conv2d<float, cuda_t> gpu(o);
  const nn::window2d g{300, 64, 64, 64, 1, 1, 1, 0};
  CHECK(nn::conv2d_im2col_cuda::group_size(g, 64) == 256);
  // The kernel directly (dw: 1.2M-product sums, see below).
  check_conv_kernel<nn::conv2d_im2col_cuda>(g, 64, false, 1e-4, 2e-2, "im2col grouped");
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

TEST_CASE("cuda batch_norm over many slices per channel: large planes, a large mean, fused epilogues") {
  // 64·32·32 = 65 536 elements per channel: 8 slices of 8192, summed per block and combined in
  // slice order by every block.
  const shape s{64, 3, 32, 32};
  CHECK(nn::cuda_detail::bn_parts(64 * 32 * 32) == 8);
  CHECK(nn::cuda_detail::bn_parts(1) == 1);
  CHECK(nn::cuda_detail::bn_parts(index_t{1} << 30) == 256);
  {
    nn::batch_norm<float> cpu({3});
    nn::batch_norm<float, cuda_t> gpu({3});
    cpu.gamma() = random_host(cpu.gamma().shape(), 6, 0.5f, 1.5f);
    cpu.beta() = random_host(cpu.beta().shape(), 7);
    check_layer(cpu, gpu, s, "batch_norm 8 slices", 1e-4);
  }
  // x = 10⁴ + U(−1, 1): a one-pass Σx² − (Σx)²/m in float would lose every digit of the
  // variance; the slices sum x − x₀ in double. Float x − mean moves by an ulp of 10⁴ (1e-3)
  // when the two means round apart, hence 5e-3 on y and dx; the batch variance to 1e-4.
  {
    nn::batch_norm<float> cpu({3});
    nn::batch_norm<float, cuda_t> gpu({3});
    parity::copy_state<float>(cpu, gpu);
    const auto x = random_host(s, 41, 1e4f - 1.0f, 1e4f + 1.0f);
    const auto y = cpu.forward(x, mode::train);
    const auto yg = gpu.forward(to_device(x), mode::train);
    check_close(y, yg, 5e-3, "batch_norm mean 1e4: y");
    check_close(cpu.running_var(), gpu.running_var(), 1e-4, "batch_norm mean 1e4: running var");
    check_close(cpu.running_mean(), gpu.running_mean(), 1e-6, "batch_norm mean 1e4: running mean");
    const auto dy = random_host(s, 42);
    check_close(cpu.backward(dy), gpu.backward(to_device(dy)), 5e-3, "batch_norm mean 1e4: dx");
  }
  // Fused ReLU, and fused residual + ReLU (the caller masks dy), over 8 slices.
  for (const bool with_residual : {false, true}) {
    nn::batch_norm<float> cpu({3});
    nn::batch_norm<float, cuda_t> gpu({3});
    cpu.beta() = random_host(cpu.beta().shape(), 8);
    parity::copy_state<float>(cpu, gpu);
    const auto x = random_host(s, 43), r = random_host(s, 44), dy = random_host(s, 45);
    const auto rg = to_device(r);
    const auto y = cpu.forward(tensor<float>(x), mode::train,
                               {.residual = with_residual ? &r : nullptr, .relu = true});
    const auto yg = gpu.forward(to_device(x), mode::train,
                                {.residual = with_residual ? &rg : nullptr, .relu = true});
    check_close(y, yg, 1e-4, with_residual ? "bn + residual + relu: y" : "bn + relu: y");
    const auto dx = with_residual ? cpu.backward(nn::relu_grad(y, dy)) : cpu.backward(dy, y);
    const auto dxg = with_residual ? gpu.backward(nn::relu_grad(yg, to_device(dy)))
                                   : gpu.backward(to_device(dy), yg);
    check_close(dx, dxg, 1e-4, with_residual ? "bn + residual + relu: dx" : "bn + relu: dx");
    parity::check_state<float>(cpu, gpu, 1e-4);
  }
}

TEST_CASE("cuda max_pool2d and (adaptive) average pooling match the cpu (overlapping windows, padding)") {
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
  for (index_t g : {2, 3}) {  // 7 × 5 planes: overlapping cells
    nn::adaptive_avg_pool<float> grid_cpu(g);
    nn::adaptive_avg_pool<float, cuda_t> grid_gpu(g);
    check_layer(grid_cpu, grid_gpu, shape{3, 4, 7, 5}, "adaptive_avg_pool " + std::to_string(g),
                1e-6);
  }
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
