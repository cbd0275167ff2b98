// A host project's first simclr program: it must build against every way of getting simclr.
#include <cstdio>

#include <simclr/simclr.hpp>

int main() {
  using namespace simclr;
  tensor<float> z(shape{4, 8});
  random::fill_normal(z.view(), random::derive(1, 0));
  const auto s = ops::matmul(z, z, {.transpose_b = true});  // (4, 4) similarities
  const bool symmetric = s(1, 2) == s(2, 1);
  std::printf("consumer: %s (simclr %d.%d.%d, %zu threads)\n", symmetric ? "ok" : "FAILED",
              version_major, version_minor, version_patch, parallel::num_threads());
  return symmetric ? 0 : 1;
}
