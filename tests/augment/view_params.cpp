// Tests of <simclr/augment/view_params.hpp> and <simclr/augment/apply_view.hpp>: the drawn
// parameters applied by the serial executor give the CPU policy's views (the device's recipe).
#include <simclr/augment/apply_view.hpp>
#include <simclr/augment/device_op.hpp>
#include <simclr/augment/view_params.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include <doctest/doctest.h>

#include <simclr/augment/policy.hpp>
#include <simclr/augment/two_views.hpp>
#include <simclr/random/stream.hpp>

#include "support/user_ops.hpp"

using namespace simclr;
using namespace simclr::augment;

namespace {

/// n (H, W, C) 8-bit images with smooth gradients, edges and noise (every branch of HSV sees use).
std::vector<image_u8> images_u8(index_t n, index_t h, index_t w, index_t c, std::uint64_t seed) {
  std::vector<image_u8> out;
  for (index_t i = 0; i < n; ++i) {
    image_u8 img(shape{h, w, c}, uninitialized);
    random::stream rng(random::derive(seed, static_cast<std::uint64_t>(i)));
    for (index_t y = 0; y < h; ++y)
      for (index_t x = 0; x < w; ++x)
        for (index_t k = 0; k < c; ++k) {
          const auto smooth = static_cast<std::uint32_t>((x * 7 + y * 3 + k * 50 + i * 31) % 256);
          const std::uint32_t noise = rng.uniform_int(40);
          img.data()[(y * w + x) * c + k] =
              static_cast<std::uint8_t>(((x / 5 + y / 7) % 3 == 0) ? noise * 6 : (smooth + noise) % 256);
        }
    out.push_back(std::move(img));
  }
  return out;
}

double max_abs_diff(const float* a, const float* b, index_t n) {
  double worst = 0.0;
  for (index_t i = 0; i < n; ++i)
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return worst;
}

struct view_stats {
  index_t views = 0, jitter = 0, gray = 0, blur = 0, solarize = 0, flip = 0, cutout = 0;
  double worst = 0.0;
};

// Which ops a view's params say ran, walking the policy's params (lists, random_apply, ops).
void count(const random_resized_crop::params&, view_stats&) {}
void count(const random_horizontal_flip::params& q, view_stats& st) { st.flip += q.flip; }
void count(const color_jitter::params&, view_stats& st) { ++st.jitter; }
void count(const random_grayscale::params& q, view_stats& st) { st.gray += q.on; }
void count(const random_gaussian_blur::params& q, view_stats& st) { st.blur += q.size > 1 ? 1 : 0; }
void count(const random_solarize::params& q, view_stats& st) { st.solarize += q.on; }
void count(const random_cutout::params& q, view_stats& st) { st.cutout += q.y1 > q.y0 ? 1 : 0; }
void count(const augment::detail::params_list<>&, view_stats&) {}
template <class H, class... T>
void count(const augment::detail::params_list<H, T...>& q, view_stats& st);
template <class P>
  requires requires(const P& q) {
    q.on;
    q.op;
  }
void count(const P& q, view_stats& st) {  // random_apply's
  if (q.on) count(q.op, st);
}
template <class H, class... T>
void count(const augment::detail::params_list<H, T...>& q, view_stats& st) {
  count(q.head, st);
  count(q.tail, st);
}

/// Every view of two_views(policy, images) on the CPU against apply_view(draw_two_views_params).
template <class Policy>
view_stats compare(const Policy& policy, const std::vector<image_u8>& imgs,
                   const batch_position& at, std::span<const std::uint64_t> samples = {}) {
  const auto n = static_cast<index_t>(imgs.size());
  const tensor<float> cpu = two_views(policy, std::span<const image_u8>(imgs), at, samples);
  const index_t h = imgs[0].extent(0), w = imgs[0].extent(1), c = imgs[0].extent(2);
  const auto params = draw_two_views_params(policy, n, h, w, c, at, samples);
  REQUIRE(static_cast<index_t>(params.size()) == 2 * n);
  view_stats st;
  const index_t per = cpu.numel() / cpu.extent(0);
  for (index_t job = 0; job < 2 * n; ++job) {
    const auto& p = params[static_cast<std::size_t>(job)];
    const image_f32 view = apply_view(p, imgs[static_cast<std::size_t>(job % n)]);
    REQUIRE(view.numel() == per);
    st.worst = std::max(st.worst, max_abs_diff(view.data(), cpu.data() + job * per, per));
    ++st.views;
    count(p.ops, st);
  }
  return st;
}

}  // namespace

TEST_CASE("imagenet policy (torchvision): drawn params + apply_view = the CPU views") {
  policy_options o;  // ImageNet, blur on, solarize on as SimCLR v2 / BYOL
  o.solarize_p = 0.3;
  const auto imgs = images_u8(26, 70, 90, 3, 1);
  const view_stats st = compare(make_simclr_policy(o), imgs, {7, 2, 5});
  CHECK(st.views == 52);
  CHECK(st.jitter > 0);
  CHECK(st.gray > 0);
  CHECK(st.blur > 0);
  CHECK(st.solarize > 0);
  CHECK(st.flip > 0);
  CHECK(st.worst <= 1e-5);
  MESSAGE("imagenet torchvision: max |device recipe − CPU| = " << st.worst);
}

TEST_CASE("imagenet policy (TF semantics, additive brightness, solarize) = the CPU views") {
  policy_options o;
  o.sem = semantics::tf;
  o.solarize_p = 0.3;
  o.size = 96;  // blur kernel 9
  const auto imgs = images_u8(26, 80, 64, 3, 2);
  const view_stats a = compare(make_simclr_policy(o), imgs, {3, 1, 4});
  CHECK(a.views == 52);
  CHECK(a.blur > 0);
  CHECK(a.solarize > 0);
  CHECK(a.worst <= 1e-5);
  o.brightness = tf_brightness::additive;
  const std::vector<std::uint64_t> samples = [] {
    std::vector<std::uint64_t> s;
    for (std::uint64_t i = 0; i < 26; ++i) s.push_back(1000 + 17 * i);
    return s;
  }();
  const view_stats b = compare(make_simclr_policy(o), imgs, {3, 1, 4}, samples);
  CHECK(b.worst <= 1e-5);
  MESSAGE("imagenet tf: max diff " << a.worst << ", additive brightness " << b.worst);
}

TEST_CASE("the preset imagenet_policy at 224 px (both semantics) = the CPU views") {
  const auto imgs = images_u8(4, 150, 180, 3, 9);
  const view_stats a = compare(imagenet_policy(), imgs, {1, 0, 0});
  const view_stats b = compare(imagenet_policy(semantics::tf), imgs, {1, 0, 0});
  CHECK(a.worst <= 1e-5);
  CHECK(b.worst <= 1e-5);
}

TEST_CASE("cifar policy (both semantics) and fashion-mnist policy = the CPU views") {
  const auto cifar = images_u8(40, 32, 32, 3, 3);
  const view_stats tv = compare(cifar_policy(), cifar, {11, 0, 9});
  const view_stats tf = compare(cifar_policy(semantics::tf), cifar, {11, 0, 9});
  CHECK(tv.views == 80);
  CHECK(tv.blur == 0);
  CHECK(tv.worst <= 1e-5);
  CHECK(tf.worst <= 1e-5);
  const auto fmnist = images_u8(40, 28, 28, 1, 4);
  const view_stats fm = compare(fashion_mnist_policy(), fmnist, {5, 3, 0});
  CHECK(fm.views == 80);
  CHECK(fm.jitter > 0);
  CHECK(fm.worst <= 1e-5);
  MESSAGE("cifar tv " << tv.worst << ", cifar tf " << tf.worst << ", fmnist " << fm.worst);
}

TEST_CASE("bicubic crops, a single op as the policy, and float sources") {
  const auto imgs = images_u8(6, 40, 50, 3, 5);
  const random_resized_crop crop(24, {0.3, 1.0}, {0.75, 1.33}, interpolation::bicubic);
  CHECK(compare(crop, imgs, {2, 2, 2}).worst <= 1e-5);
  const auto p = draw_two_views_params(cifar_policy(), 6, 40, 50, 3, {2, 2, 2});
  const image_f32 f = to_float(imgs[1]);
  const image_f32 from_u8 = apply_view(p[1], imgs[1]);
  const image_f32 from_f32 = apply_view(p[1], f);
  CHECK(max_abs_diff(from_u8.data(), from_f32.data(), from_u8.numel()) == 0.0);
}

TEST_CASE("draw_view_params: ill-shaped input and mismatched images throw clear errors") {
  const auto policy = cifar_policy();
  random::stream rng(random::key(1));
  CHECK_THROWS_AS((void)draw_view_params(policy, 32, 32, 4, rng), shape_error);
  CHECK_THROWS_AS((void)draw_view_params(policy, 0, 32, 3, rng), shape_error);
  CHECK_THROWS_AS((void)draw_two_views_params(policy, 0, 32, 32, 3, {}), shape_error);
  const std::vector<std::uint64_t> two{1, 2};
  CHECK_THROWS_AS((void)draw_two_views_params(policy, 3, 32, 32, 3, {}, two), shape_error);
  const auto p = draw_view_params(policy, 32, 32, 3, rng);
  const image_u8 wrong(shape{31, 32, 3});
  CHECK_THROWS_WITH_AS((void)apply_view(p, wrong),
                       doctest::Contains("drawn for 32×32 with 3"), shape_error);
  const image_u8 gray(shape{32, 32, 1});
  CHECK_THROWS_AS((void)apply_view(p, gray), shape_error);
  // A blur kernel wider than the record holds (a 2000-row view, kernel 201).
  const random_gaussian_blur wide({1.0f, 2.0f}, 201);
  CHECK_THROWS_WITH_AS((void)draw_view_params(wide, 8, 8, 3, rng),
                       doctest::Contains("at most 127"), value_error);
}

// A policy is a device_augmentation when every op is one and a crop, if any, comes first. An op
// without a device version stops draw_view_params at compile time (tests/compile_fail).
static_assert(device_augmentation<simclr_policy>);
static_assert(device_augmentation<grayscale_policy>);
static_assert(device_augmentation<compose<random_grayscale, random_grayscale>>);
static_assert(device_augmentation<compose<color_jitter, random_horizontal_flip>>);
static_assert(!device_augmentation<compose<random_horizontal_flip, random_resized_crop>>);
static_assert(!device_augmentation<random_apply<random_resized_crop>>);
static_assert(std::is_trivially_copyable_v<view_params<simclr_policy>>);

TEST_CASE("nested random_apply(compose(...)) draws as the CPU op does") {
  using inner = compose<random_horizontal_flip, color_jitter>;
  const compose<random_resized_crop, random_apply<inner>> policy(
      random_resized_crop(20), random_apply<inner>(0.7, inner(random_horizontal_flip(0.5),
                                                            color_jitter(0.4f, 0.4f, 0.4f, 0.1f))));
  static_assert(device_augmentation<decltype(policy)>);
  const auto imgs = images_u8(20, 24, 30, 3, 8);
  const view_stats st = compare(policy, imgs, {4, 4, 4});
  CHECK(st.jitter > 0);
  CHECK(st.worst <= 1e-5);
}

TEST_CASE("a user's op (the example's cutout) and ops in any order run through the device recipe") {
  const test::jitter_twice policy = test::jitter_twice_policy(20);
  const auto imgs = images_u8(24, 26, 30, 3, 12);
  const view_stats st = compare(policy, imgs, {6, 1, 2});
  CHECK(st.jitter > 48);  // the first jitter always, the second sometimes
  CHECK(st.gray > 0);
  CHECK(st.flip > 0);
  CHECK(st.solarize > 0);
  CHECK(st.cutout > 0);
  CHECK(st.cutout < 48);
  CHECK(st.worst <= 1e-5);
  // No crop: the view is the source, copied, then the ops in place.
  const test::cutout_gray_jitter no_crop = test::cutout_gray_jitter_policy();
  const view_stats nc = compare(no_crop, imgs, {6, 1, 3});
  CHECK(nc.worst <= 1e-5);
  CHECK(nc.cutout > 0);
  MESSAGE("any order + user op: max |recipe − CPU| = " << st.worst << ", no crop " << nc.worst);
}

TEST_CASE("device_op: geometry_of, the serial executor, view_buffer sizes") {
  const image_f32 img(shape{3, 5, 7});
  const view_geometry g = geometry_of(img);
  CHECK(g.c == 3);
  CHECK(g.h == 5);
  CHECK(g.w == 7);
  CHECK(g.scratch == 0);
  CHECK_FALSE(g.device);
  const view_geometry none = geometry_of(image_f32(shape{5, 7}));  // not (C, H, W)
  CHECK(none.c == 0);
  CHECK(none.h == 0);
  float data[3 * 5 * 7] = {};
  const view_buffer v{data, 3, 5, 7, nullptr};
  CHECK(v.plane() == 35);
  CHECK(v.size() == 105);
  index_t visited = 0;
  serial_executor{}.for_each(v.size(), [&](index_t i) { visited += i; });
  CHECK(visited == 104 * 105 / 2);
  CHECK(serial_executor{}.sum(4, [](index_t i) { return 0.5 * static_cast<double>(i); }) == 3.0);
  const std::uint8_t px[2 * 1 * 3] = {0, 51, 255, 102, 0, 0};  // (H 2, W 1, C 3)
  const u8_hwc_source s{px, 2, 1, 3};
  CHECK(s(1, 0, 0) == 51.0f / 255.0f);
  CHECK(s(0, 1, 0) == 102.0f / 255.0f);
}
