// Tests of <simclr/backend/cpu/exp.hpp>: the vector exp against std::exp on every CPU path.
#include <simclr/backend/cpu/exp.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

using namespace simclr;

TEST_CASE("exp_into: within 2 ulp of exp over the normal range, 0 below it, on every CPU path") {
  // The first 37 values alone: full registers of 4, 8 and 16 floats and a tail on every path.
  std::vector<float> x;
  for (int i = 0; i < 4000; ++i) x.push_back(-87.3f + 175.6f * static_cast<float>(i) / 3999.0f);
  for (const float v : {0.0f, -0.0f, 1e-8f, -1e-8f, 0.5f, -0.5f, 1.0f, -1.0f, -10.0f, -20.0f})
    x.push_back(v);
  x.push_back(-std::numeric_limits<float>::infinity());
  x.push_back(-87.5f);  // below ln(FLT_MIN): 0, not a subnormal
  x.push_back(-1000.0f);
  for (const cpu_isa isa : all_cpu_isas) {
    if (!cpu_supports(isa)) continue;
    CAPTURE(to_string(isa));
    for (const index_t n : {index_t{37}, static_cast<index_t>(x.size())}) {
      std::vector<float> y(x.size(), -1.0f);
      detail::exp_into(isa, x.data(), y.data(), n);
      for (index_t i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        CAPTURE(x[k]);
        if (x[k] < -87.33654475f) {
          CHECK(y[k] == 0.0f);
        } else {
          const double ref = std::exp(static_cast<double>(x[k]));
          CHECK(std::abs(static_cast<double>(y[k]) - ref) <= 2.4e-7 * ref);
        }
      }
      if (n < static_cast<index_t>(x.size()))
        CHECK(y[static_cast<std::size_t>(n)] == -1.0f);  // nothing written past n
    }
  }
  // In place, and exp(0) = 1 exactly.
  std::vector<float> z{0.0f, -1.0f, 2.0f};
  detail::exp_into(current_cpu_isa(), z.data(), z.data(), 3);
  CHECK(z[0] == 1.0f);
  CHECK(z[1] == doctest::Approx(std::exp(-1.0)).epsilon(3e-7));
}
