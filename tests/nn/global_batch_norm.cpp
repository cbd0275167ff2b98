// Global BatchNorm (nn::global_batch_norm): k batch_norm copies on k threads, each with its
// slice of the batch and a group that sums over the threads, compute what one batch_norm
// computes on the whole batch — outputs, input gradients, running statistics, and dγ, dβ once
// the copies' parts are added — with and without the fused ReLU; a group of one is the plain
// layer; the device guard and the count check.
#include <simclr/nn/batch_norm_group.hpp>

#include <algorithm>
#include <barrier>
#include <cmath>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/nn/batch_norm.hpp>
#include <simclr/random/fill.hpp>

namespace {

using simclr::index_t;
using simclr::shape;
using simclr::tensor;

/// k threads as a group: each writes its part to its slot, and after a barrier every thread
/// adds the slots in rank order (the same total, bit for bit, on every thread).
struct thread_world {
  explicit thread_world(int k) : slots(static_cast<std::size_t>(k)), sync(k) {}
  std::vector<std::vector<double>> slots;
  std::barrier<> sync;
};
class thread_group final : public simclr::nn::batch_norm_group {
 public:
  thread_group(thread_world& w, int rank) : w_(&w), rank_(rank) {}
  void sum(std::span<double> x) override {
    w_->slots[static_cast<std::size_t>(rank_)].assign(x.begin(), x.end());
    w_->sync.arrive_and_wait();
    std::fill(x.begin(), x.end(), 0.0);
    for (const auto& s : w_->slots)
      for (std::size_t i = 0; i < x.size(); ++i) x[i] += s[i];
    w_->sync.arrive_and_wait();  // every thread has read the slots before they are reused
  }

 private:
  thread_world* w_;
  int rank_;
};

/// Rows [r·n, (r + 1)·n) of an (N, ...) tensor.
tensor<double> rows(const tensor<double>& t, index_t r, index_t n) {
  std::vector<index_t> dims;
  for (int a = 0; a < t.rank(); ++a) dims.push_back(a == 0 ? n : t.extent(a));
  tensor<double> out(shape(std::span<const index_t>(dims)), simclr::uninitialized);
  const index_t per = t.numel() / t.extent(0);
  std::copy_n(t.data() + r * n * per, n * per, out.data());
  return out;
}

double worst(const tensor<double>& a, const tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double w = 0;
  for (index_t i = 0; i < a.numel(); ++i)
    w = std::max(w, std::abs(a.data()[i] - b.data()[i]) / std::max(std::abs(b.data()[i]), 1e-3));
  return w;
}

}  // namespace

TEST_CASE("global_batch_norm: k slices on k threads equal one batch_norm on the whole batch") {
  const shape whole{12, 3, 4, 5};
  tensor<double> x(whole), dy(whole);
  simclr::random::fill_normal(x.view(), simclr::random::key(1));
  simclr::random::fill_normal(dy.view(), simclr::random::key(2));
  for (index_t i = 0; i < x.numel(); ++i) x.data()[i] = 3.0 + 2.0 * x.data()[i];
  for (const bool relu : {false, true}) {
    simclr::nn::batch_norm<double> one({.channels = 3});
    tensor<double> y1 = one.forward(tensor<double>(x), simclr::mode::train, {.relu = relu});
    const tensor<double> dx1 = relu ? one.backward(dy, y1) : one.backward(dy);
    for (const int k : {1, 2, 3, 4}) {
      CAPTURE(k);
      CAPTURE(relu);
      const index_t n = 12 / k;
      thread_world world(k);
      std::vector<simclr::nn::batch_norm<double>> bns(static_cast<std::size_t>(k),
                                                      simclr::nn::batch_norm<double>({.channels = 3}));
      std::vector<tensor<double>> ys(bns.size()), dxs(bns.size());
      std::vector<std::thread> threads;
      for (int r = 0; r < k; ++r)
        threads.emplace_back([&, r] {
          thread_group g(world, r);
          auto& bn = bns[static_cast<std::size_t>(r)];
          {
            simclr::nn::global_batch_norm scope(g);
            ys[static_cast<std::size_t>(r)] =
                bn.forward(rows(x, r, n), simclr::mode::train, {.relu = relu});
          }
          // Backward outside the scope still sums over the forward's group.
          const auto d = rows(dy, r, n);
          dxs[static_cast<std::size_t>(r)] =
              relu ? bn.backward(d, ys[static_cast<std::size_t>(r)]) : bn.backward(d);
        });
      for (auto& t : threads) t.join();
      tensor<double> dgamma(shape{3}), dbeta(shape{3});
      for (int r = 0; r < k; ++r) {
        auto& bn = bns[static_cast<std::size_t>(r)];
        CHECK(worst(ys[static_cast<std::size_t>(r)], rows(y1, r, n)) <= 1e-12);
        CHECK(worst(dxs[static_cast<std::size_t>(r)], rows(dx1, r, n)) <= 1e-12);
        CHECK(worst(bn.running_mean(), one.running_mean()) <= 1e-12);
        CHECK(worst(bn.running_var(), one.running_var()) <= 1e-12);
        for (index_t c = 0; c < 3; ++c) {
          dgamma(c) += bn.gamma_grad()(c);
          dbeta(c) += bn.beta_grad()(c);
        }
      }
      CHECK(worst(dgamma, one.gamma_grad()) <= 1e-12);
      CHECK(worst(dbeta, one.beta_grad()) <= 1e-12);
      // Negative control: a slice's own statistics give another output.
      if (k > 1) {
        simclr::nn::batch_norm<double> local({.channels = 3});
        CHECK(worst(local.forward(rows(x, 0, n), simclr::mode::train, {.relu = relu}),
                    rows(y1, 0, n)) > 1e-6);
      }
    }
  }
}

TEST_CASE("global_batch_norm: scopes nest and end; too few values over the group") {
  thread_world world(1);
  thread_group g(world, 0);
  CHECK(simclr::detail::current_batch_norm_group() == nullptr);
  {
    simclr::nn::global_batch_norm outer(g);
    CHECK(simclr::detail::current_batch_norm_group() == &g);
    thread_group inner_g(world, 0);
    {
      simclr::nn::global_batch_norm inner(inner_g);
      CHECK(simclr::detail::current_batch_norm_group() == &inner_g);
    }
    CHECK(simclr::detail::current_batch_norm_group() == &g);
    simclr::nn::batch_norm<double> bn({.channels = 2});
    CHECK_THROWS_WITH_AS((void)bn.forward(tensor<double>(shape{1, 2}), simclr::mode::train),
                         doctest::Contains("more than one value per channel over the group"),
                         simclr::value_error);
  }
  CHECK(simclr::detail::current_batch_norm_group() == nullptr);
}
