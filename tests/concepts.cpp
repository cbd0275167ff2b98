// The customization points: what satisfies each concept and what does not.
#include <simclr/concepts.hpp>

#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/testing/gradcheck.hpp>

using namespace simclr;

namespace {

// ---- augmentation ----------------------------------------------------------------------------
struct mirror {  // a real augmentation: flip horizontally with probability 1/2
  tensor<float> operator()(const tensor<float>& img, random::stream& rng) const {
    tensor<float> out = img;
    if (rng.bernoulli(0.5)) {
      const index_t c = img.extent(0), h = img.extent(1), w = img.extent(2);
      for (index_t k = 0; k < c; ++k)
        for (index_t y = 0; y < h; ++y)
          for (index_t x = 0; x < w; ++x) out(k, y, x) = img(k, y, w - 1 - x);
    }
    return out;
  }
};
struct mutating_augmentation {  // call is not const: not shareable between threads
  tensor<float> operator()(const tensor<float>& img, random::stream& rng);
};
struct unseeded_augmentation {  // no rng: randomness would not be reproducible
  tensor<float> operator()(const tensor<float>& img) const;
};
struct uint8_augmentation {  // wrong image type
  tensor<std::uint8_t> operator()(const tensor<float>& img, random::stream& rng) const;
};

// ---- encoder / head --------------------------------------------------------------------------
template <class T>
struct toy_encoder {
  using scalar_type = T;
  using backend_type = cpu_t;
  tensor<T> forward(const tensor<T>& x, mode m);
  tensor<T> backward(const tensor<T>& dh);
  index_t output_dim() const;
  std::vector<parameter<T>> parameters();
  void visit_state(const nn::state_visitor<T, cpu_t>& f, const std::string& prefix);
};
template <class T>
struct encoder_without_state {  // everything but visit_state: checkpoints could not hold it
  using scalar_type = T;
  using backend_type = cpu_t;
  tensor<T> forward(const tensor<T>& x, mode m);
  tensor<T> backward(const tensor<T>& dh);
  index_t output_dim() const;
  std::vector<parameter<T>> parameters();
};
struct encoder_without_backend {
  using scalar_type = float;
  tensor<float> forward(const tensor<float>& x, mode m);
  void backward(const tensor<float>& dh);
  index_t output_dim() const;
  std::vector<parameter<float>> parameters();
};
struct encoder_with_bare_tensors {
  using scalar_type = float;
  using backend_type = cpu_t;
  tensor<float> forward(const tensor<float>& x, mode m);
  void backward(const tensor<float>& dh);
  index_t output_dim() const;
  std::vector<tensor<float>> parameters();  // roles are missing
};
struct toy_head {
  using scalar_type = float;
  using backend_type = cpu_t;
  tensor<float> forward(const tensor<float>& h, mode m);
  tensor<float> backward(const tensor<float>& dz);
  index_t input_dim() const;
  index_t output_dim() const;
  std::vector<parameter<float>> parameters();
  void visit_state(const nn::state_visitor<float, cpu_t>& f, const std::string& prefix);
};
struct head_without_input_gradient {
  using scalar_type = float;
  using backend_type = cpu_t;
  tensor<float> forward(const tensor<float>& h, mode m);
  void backward(const tensor<float>& dz);  // the encoder needs dh
  index_t input_dim() const;
  index_t output_dim() const;
  std::vector<parameter<float>> parameters();
};

// ---- loss ------------------------------------------------------------------------------------
template <class T>
struct loss_value {
  double value = 0.0;
  tensor<T> dz;
};
/// A real (if weak) contrastive loss: mean squared distance of the positive pairs,
/// L = 1/(2N) Σ_i ‖z_i − z_p(i)‖², so dL/dz_i = (2/N)(z_i − z_p(i)).
struct pair_distance_loss {
  template <class T>
  loss_value<T> operator()(const tensor<T>& z) const {
    const index_t two_n = z.extent(0), n = two_n / 2, d = z.extent(1);
    loss_value<T> out{0.0, tensor<T>(z.shape())};
    for (index_t i = 0; i < two_n; ++i) {
      const index_t p = (i + n) % two_n;
      for (index_t k = 0; k < d; ++k) {
        const double diff = double(z(i, k)) - double(z(p, k));
        out.value += diff * diff / double(two_n);
        out.dz(i, k) = static_cast<T>(2.0 / double(n) * diff);
      }
    }
    return out;
  }
};
struct per_sample_loss {  // returns only a value: cannot drive backward
  double operator()(const tensor<float>& z);
};

// ---- optimizer -------------------------------------------------------------------------------
struct plain_sgd {
  template <class T>
  void step(std::span<const parameter<T>> params, double lr) {
    for (const auto& p : params)
      for (index_t i = 0; i < p.value->numel(); ++i)
        p.value->data()[i] -= static_cast<T>(lr) * p.grad->data()[i];
  }
};
struct stateful_sgd : plain_sgd {  // plus what checkpoints need
  std::int64_t steps = 0;
  void bind(std::span<const parameter<float>>) {}
  optim::optimizer_state<float, cpu_t> state() { return {&steps, {}}; }
};
struct optimizer_without_lr {
  void step(std::span<const parameter<float>> params);
};

// An entry point constrained by a concept, as the model and trainer are.
template <contrastive_loss<double> L>
double loss_of(L& loss, const tensor<double>& z) {
  return loss(z).value;
}

}  // namespace

TEST_CASE("concepts: augmentation") {
  static_assert(augmentation<mirror>);
  static_assert(!augmentation<mutating_augmentation>);
  static_assert(!augmentation<unseeded_augmentation>);
  static_assert(!augmentation<uint8_augmentation>);
  // And the positive example works: the same key gives the same view.
  tensor<float> img(shape{1, 1, 3}, {1, 2, 3});
  random::stream a(random::derive(1, 0, 5)), b(random::derive(1, 0, 5));
  const auto va = mirror{}(img, a), vb = mirror{}(img, b);
  CHECK(va(0, 0, 0) == vb(0, 0, 0));
}

TEST_CASE("concepts: encoder and projection_head") {
  static_assert(encoder<toy_encoder<float>>);
  static_assert(encoder<toy_encoder<double>>);
  static_assert(!encoder<encoder_without_backend>);
  static_assert(!encoder<encoder_with_bare_tensors>);
  static_assert(!encoder<int>);
  static_assert(!encoder<encoder_without_state<float>>);  // encoder refines module
  static_assert(module<toy_encoder<float>> && !module<encoder_without_state<float>>);
  static_assert(projection_head<toy_head>);
  static_assert(!projection_head<head_without_input_gradient>);
  static_assert(!projection_head<toy_encoder<float>>);  // no input_dim
  CHECK(std::is_same_v<tensor_of<toy_head>, tensor<float, cpu_t>>);
}

TEST_CASE("concepts: contrastive_loss, used at a constrained entry point") {
  static_assert(contrastive_loss<pair_distance_loss>);
  static_assert(contrastive_loss<pair_distance_loss, double>);
  static_assert(!contrastive_loss<per_sample_loss>);
  pair_distance_loss loss;
  tensor<double> z(shape{4, 2}, {1, 0, 0, 1, 1, 1, 0, 1});
  // Pairs (0,2): distance² 1, (1,3): 0; each counted twice, divided by 2N = 4.
  CHECK(loss_of(loss, z) == doctest::Approx(0.5));
  auto r = loss(z);
  const auto check = testing::gradcheck([&] { return loss(z).value; }, {{"z", z, r.dz}});
  CHECK_MESSAGE(check.passed, check.message());
}

TEST_CASE("concepts: optimizer") {
  static_assert(optimizer<plain_sgd>);
  static_assert(optimizer<plain_sgd, double>);
  static_assert(!optimizer<optimizer_without_lr>);
  static_assert(!checkpointable_optimizer<plain_sgd>);  // no bind/state: fit would refuse it
  static_assert(checkpointable_optimizer<stateful_sgd>);
  static_assert(!checkpointable_optimizer<stateful_sgd, double>);
  tensor<float> w(shape{2}, {1.f, 2.f}), g(shape{2}, {0.5f, -1.f});
  const std::vector<parameter<float>> ps{{"w", parameter_role::weight, &w, &g}};
  plain_sgd sgd;
  sgd.step(std::span<const parameter<float>>(ps), 0.1);
  CHECK(w(0) == doctest::Approx(0.95f));
  CHECK(w(1) == doctest::Approx(2.1f));
}
