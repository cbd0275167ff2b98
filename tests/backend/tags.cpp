// Backend tags, the backend concept, and dispatch of an op to a user-defined backend.
#include <simclr/backend/tags.hpp>
#include <simclr/backend/memory.hpp>
#include <simclr/ops/gemm.hpp>
#include <simclr/tensor.hpp>

#include <cstdlib>
#include <cstring>

#include <doctest/doctest.h>

namespace {

// A third backend, written the way a user would: a tag, its memory, and the ops it supports.
struct counting_t {
  static constexpr std::string_view name = "counting";
  static constexpr bool host_accessible = true;
};
int gemm_calls = 0;

struct stateful {  // not a tag: it has state
  static constexpr std::string_view name = "x";
  static constexpr bool host_accessible = true;
  int state;
};
struct nameless {  // not a tag: no name
  static constexpr bool host_accessible = true;
};

}  // namespace

template <>
struct simclr::memory<counting_t> {
  static void* allocate(std::size_t bytes) { return std::calloc(1, bytes == 0 ? 1 : bytes); }
  static void deallocate(void* p, std::size_t) noexcept { std::free(p); }
  static void zero(void* p, std::size_t bytes) { std::memset(p, 0, bytes); }
  static void copy(void* d, const void* s, std::size_t bytes) { std::memcpy(d, s, bytes); }
};

template <>
struct simclr::ops::gemm_kernel<counting_t> {
  template <class T>
  static void run(bool ta, bool tb, index_t m, index_t n, index_t k, T alpha, const T* a,
                  index_t lda, const T* b, index_t ldb, T beta, T* c, index_t ldc) {
    ++gemm_calls;
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < n; ++j) {
        T s = 0;
        for (index_t p = 0; p < k; ++p)
          s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
        c[i * ldc + j] = alpha * s + (beta == T(0) ? T(0) : beta * c[i * ldc + j]);
      }
  }
};

TEST_CASE("backend concept: the two built-in tags and a user tag satisfy it") {
  static_assert(simclr::backend<simclr::cpu_t>);
  static_assert(simclr::backend<simclr::cuda_t>);
  static_assert(simclr::backend<counting_t>);
  static_assert(!simclr::backend<int>);
  static_assert(!simclr::backend<stateful>);  // tags are empty
  static_assert(!simclr::backend<nameless>);
  CHECK(simclr::cpu_t::name == "cpu");
  CHECK(simclr::cuda_t::name == "cuda");
  CHECK_FALSE(simclr::cuda_t::host_accessible);
}

TEST_CASE("dispatch: ops::gemm runs the kernel of the data's backend") {
  using namespace simclr;
  tensor<double, counting_t> a(shape{2, 3}, {1, 2, 3, 4, 5, 6});
  tensor<double, counting_t> b(shape{3, 1}, {1, 0, -1});
  tensor<double, counting_t> c(shape{2, 1});
  gemm_calls = 0;
  ops::gemm(a, b, c);
  CHECK(gemm_calls == 1);
  CHECK(c(0, 0) == -2.0);
  CHECK(c(1, 0) == -2.0);
  // The CPU kernel is a different specialisation and is not counted.
  tensor<double> ac(shape{2, 3}, {1, 2, 3, 4, 5, 6}), bc(shape{3, 1}, {1, 0, -1});
  const auto cc = ops::matmul(ac, bc);
  CHECK(gemm_calls == 1);
  CHECK(cc(1, 0) == -2.0);
}
