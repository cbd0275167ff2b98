// Argument checks shared by the losses: the temperature and the (2N, D) shape of a batch.
#pragma once

#include <cmath>
#include <string>

#include <simclr/config.hpp>
#include <simclr/error.hpp>

namespace simclr::loss {

namespace detail {
inline void check_temperature(double tau, const char* loss_name) {
  if (!(tau > 0.0) || !std::isfinite(tau))
    throw value_error(std::string("simclr: ") + loss_name + ": temperature is " +
                      std::to_string(tau) + ", expected a finite value > 0");
}
/// Checks z is (2N, D) with N ≥ 1 and D ≥ 1.
template <class View>
void check_pair_batch(const View& z, const char* loss_name, const char* what = "z") {
  if (z.rank() != 2)
    throw shape_error(std::string("simclr: ") + loss_name + ": " + what + " has shape " +
                      z.shape().to_string() + ", expected (2N, D)");
  const index_t rows = z.extent(0);
  if (rows < 2 || rows % 2 != 0)
    throw shape_error(std::string("simclr: ") + loss_name + ": " + what + " has " +
                      std::to_string(rows) +
                      " rows, expected an even number ≥ 2 (rows i and i + N are a positive pair)");
  if (z.extent(1) < 1)
    throw shape_error(std::string("simclr: ") + loss_name + ": " + what +
                      " has no columns (D = 0)");
}
/// Checks the (2N, D) batch z has N ≥ 2 images (the losses that take statistics over the batch).
template <class View>
void check_two_images(const View& z, const char* loss_name) {
  if (z.extent(0) < 4)
    throw shape_error(std::string("simclr: ") + loss_name + ": z has " +
                      std::to_string(z.extent(0)) +
                      " rows, expected 2N ≥ 4 (the per-feature statistics need two images)");
}
}  // namespace detail

}  // namespace simclr::loss
