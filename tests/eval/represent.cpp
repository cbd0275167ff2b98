// eval::represent: the frozen representations of a data set, batch by batch.
#include <simclr/eval/represent.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/encoders/resnet.hpp>

using namespace simclr;

namespace {
data::dataset make(index_t n, index_t side) {
  data::dataset d;
  d.images = tensor<std::uint8_t>(shape{n, side, side, 1});
  for (index_t i = 0; i < d.images.numel(); ++i)
    d.images.data()[i] = static_cast<std::uint8_t>((i * 131 + 7) % 251);
  d.labels = tensor<std::int32_t>(shape{n});
  d.num_classes = 1;
  return d;
}

/// An encoder whose output_dim() disagrees with what forward returns.
struct lying_encoder {
  using scalar_type = float;
  using backend_type = cpu_t;
  tensor<float> forward(const tensor<float>& x, mode) { return tensor<float>(shape{x.extent(0), 3}); }
  tensor<float> backward(const tensor<float>& dh) { return dh; }
  [[nodiscard]] index_t output_dim() const { return 4; }
  std::vector<parameter<float>> parameters() { return {}; }
  void visit_state(const nn::state_visitor<float, cpu_t>&, const std::string&) {}
};
}  // namespace

TEST_CASE("eval::represent: one row per image, the same whatever the batch size") {
  const data::dataset d = make(23, 12);
  auto f = encoders::resnet18<float>({.base_width = 2, .in_channels = 1,
                                      .stem = encoders::stem::cifar, .seed = 3});
  const tensor<float> a = eval::represent(f, d);  // one batch
  const tensor<float> b = eval::represent(f, d, {.batch = 5});
  REQUIRE(a.shape() == shape{23, f.output_dim()});
  const auto va = a.values(), vb = b.values();
  CHECK(std::equal(va.begin(), va.end(), vb.begin(), vb.end()));
  // Row i is f of image i alone.
  const tensor<float> one = f.forward(data::to_float_batch(d, 17, 1), mode::eval);
  for (index_t k = 0; k < f.output_dim(); ++k) CHECK(a(17, k) == one(0, k));
}

TEST_CASE("eval::represent: a bad batch size or an encoder that misreports its width is an error") {
  const data::dataset d = make(4, 8);
  auto f = encoders::resnet18<float>({.base_width = 2, .in_channels = 1, .stem = encoders::stem::cifar});
  CHECK_THROWS_WITH_AS((void)eval::represent(f, d, {.batch = 0}), doctest::Contains("batch is 0"),
                       value_error);
  lying_encoder liar;
  CHECK_THROWS_WITH_AS((void)eval::represent(liar, d),
                       doctest::Contains("returned shape (4, 3) for 4 images, expected (4, 4)"),
                       shape_error);
}
