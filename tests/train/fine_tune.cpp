#include <simclr/train/fine_tune.hpp>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>
#include <simclr/encoders/resnet.hpp>
#include <simclr/testing/gradcheck.hpp>

#include "support/toy_data.hpp"

using namespace simclr;

TEST_CASE("softmax_cross_entropy: value, gradient by finite differences, no overflow") {
  tensor<float> logits(shape{3, 4}, {1, 2, 3, 4, 0, 0, 0, 0, 1000, -1000, 0, 5});
  const std::vector<std::int32_t> y{3, 1, 0};
  const auto r = train::softmax_cross_entropy(logits, y);
  const double row0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + std::exp(4.0)) - 4;
  CHECK(r.value == doctest::Approx((row0 + std::log(4.0) + 0.0) / 3).epsilon(1e-6));
  CHECK(std::isfinite(r.value));
  CHECK(r.correct == 2);  // rows 0 and 2 (row 1 ties go to class 0)
  tensor<double> z(shape{2, 3}, {0.5, -1, 2, 0.1, 0.2, 0.3});
  auto f = [&] {
    tensor<float> zf(z.shape());
    for (index_t i = 0; i < 6; ++i) zf.data()[i] = float(z.data()[i]);
    return train::softmax_cross_entropy(zf, std::vector<std::int32_t>{2, 0}).value;
  };
  tensor<float> zf(z.shape());
  for (index_t i = 0; i < 6; ++i) zf.data()[i] = float(z.data()[i]);
  const auto g = train::softmax_cross_entropy(zf, std::vector<std::int32_t>{2, 0}).dlogits;
  tensor<double> gd(g.shape());
  for (index_t i = 0; i < 6; ++i) gd.data()[i] = g.data()[i];
  const auto check = testing::gradcheck(f, {{"z", z, gd}}, {.step = 1e-3, .tolerance = 1e-3});
  CHECK_MESSAGE(check.passed, check.message());
  CHECK_THROWS_AS((void)train::softmax_cross_entropy(logits, std::vector<std::int32_t>{0, 1, 7}),
                  value_error);
}

TEST_CASE("fine_tune: a label fraction trains encoder and classifier above chance") {
  const test::toy_images toy(240, 12, 4, 3);
  data::dataset d;
  d.images = tensor<std::uint8_t>(shape{240, 12, 12, 1});
  d.labels = tensor<std::int32_t>(shape{240});
  d.num_classes = 4;
  for (index_t i = 0; i < 240; ++i) {
    std::copy(toy.images[i].data(), toy.images[i].data() + 144, d.images.data() + i * 144);
    d.labels(i) = toy.labels[i];
  }
  const auto train_set = data::subset(d, 0, 160), test_set = data::subset(d, 160, 80);
  auto f = encoders::resnet18<float>({.base_width = 4, .in_channels = 1,
                                      .stem = encoders::stem::cifar, .seed = 1});
  const auto r = train::fine_tune(f, train_set, test_set, augment::fashion_mnist_policy(12),
                                  {.label_fraction = 0.5, .epochs = 8, .batch_size = 16,
                                   .lr = 0.05, .seed = 2});
  CHECK(r.labelled == 80);
  MESSAGE("fine-tuned on 80 labels: train " << 100 * r.train_accuracy << "%, test "
                                            << 100 * r.test_accuracy << "%");
  CHECK(r.test_accuracy > 0.5);  // chance is 0.25
  CHECK_THROWS_AS(train::fine_tune(f, train_set, test_set, augment::fashion_mnist_policy(12),
                                   {.label_fraction = 0.0}),
                  value_error);
}
