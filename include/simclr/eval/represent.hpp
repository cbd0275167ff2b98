// simclr::eval::represent: the frozen representations h = f(x) of a whole data set.
#pragma once

#include <algorithm>

#include <simclr/concepts.hpp>
#include <simclr/data/dataset.hpp>
#include <simclr/error.hpp>
#include <simclr/mode.hpp>
#include <simclr/tensor.hpp>

namespace simclr::eval {

struct represent_options {
  index_t batch = 500;            ///< images per forward pass (bounds the memory, not the result)
  data::normalization norm = {};  ///< per-channel normalisation of the pixels (none by default)
};

/// h = f(x) for every image of `d`, in evaluation mode (BatchNorm running statistics, no
/// caches), batch by batch: an (N, f.output_dim()) tensor, row i the image i. The rows do not
/// depend on the batch size (every layer treats the images of a batch independently in
/// evaluation mode). What linear evaluation, the kNN monitor and embedding export take.
template <encoder Encoder>
  requires std::same_as<scalar_of<Encoder>, float> && std::same_as<backend_of<Encoder>, cpu_t>
[[nodiscard]] tensor<float> represent(Encoder& f, const data::dataset& d,
                                      const represent_options& o = {}) {
  if (o.batch < 1)
    throw value_error("simclr: eval::represent: batch is " + std::to_string(o.batch) +
                      ", expected ≥ 1");
  const index_t n = d.size(), dim = f.output_dim();
  tensor<float> h(shape{n, dim}, uninitialized);
  for (index_t i = 0; i < n; i += o.batch) {
    const index_t b = std::min(o.batch, n - i);
    const tensor<float> hb = f.forward(data::to_float_batch(d, i, b, o.norm), mode::eval);
    if (hb.rank() != 2 || hb.extent(0) != b || hb.extent(1) != dim)
      throw shape_error("simclr: eval::represent: the encoder returned shape " +
                        hb.shape().to_string() + " for " + std::to_string(b) +
                        " images, expected (" + std::to_string(b) + ", " + std::to_string(dim) +
                        ") — its output_dim() disagrees with its forward");
    std::copy(hb.data(), hb.data() + hb.numel(), h.data() + i * dim);
  }
  return h;
}

}  // namespace simclr::eval
