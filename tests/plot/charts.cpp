// Tests of <simclr/plot/line_chart.hpp> and <simclr/plot/scatter.hpp>: requested sizes, series
// and class colours at the pixels their data map to, legends, errors.
#include <simclr/plot/line_chart.hpp>
#include <simclr/plot/scatter.hpp>

#include <doctest/doctest.h>

using namespace simclr;

namespace {
plot::rgb at(const augment::image_u8& img, double x, double y) {
  const auto xi = static_cast<index_t>(std::lround(x)), yi = static_cast<index_t>(std::lround(y));
  return {img(yi, xi, 0), img(yi, xi, 1), img(yi, xi, 2)};
}
index_t count(const augment::image_u8& img, plot::rgb c) {
  index_t n = 0;
  for (index_t y = 0; y < img.extent(0); ++y)
    for (index_t x = 0; x < img.extent(1); ++x) n += at(img, static_cast<double>(x), static_cast<double>(y)) == c ? 1 : 0;
  return n;
}
}  // namespace

TEST_CASE("line_chart: size, the series colour along its line, title and labels in black") {
  std::vector<double> loss;
  for (int i = 0; i <= 100; ++i) loss.push_back(5.0 - 0.03 * i);  // a straight line
  plot::line_chart_options o;
  o.width = 500;
  o.height = 300;
  o.title = "LOSS";
  o.x_label = "STEP";
  o.y_label = "NT-XENT";
  const augment::image_u8 img = plot::line_chart(loss, o);
  CHECK(img.shape() == shape{300, 500, 3});
  plot::series s;
  s.y = loss;
  for (int i = 0; i <= 100; ++i) s.x.push_back(i);
  const plot::axes_frame f = plot::line_chart_frame(std::span<const plot::series>(&s, 1), o);
  for (int i : {5, 37, 50, 93})
    CHECK(at(img, f.px(i), f.py(loss[static_cast<std::size_t>(i)])) == plot::palette()[0]);
  CHECK(at(img, 0, 0) == plot::white);
  CHECK(at(img, f.px(90), f.py(4.5)) != plot::palette()[0]);  // far from the line
  // Black pixels only outside the plot area (text), and some of them (title, ticks, labels).
  index_t black_inside = 0, black_outside = 0;
  for (index_t y = 0; y < 300; ++y)
    for (index_t x = 0; x < 500; ++x)
      if (at(img, static_cast<double>(x), static_cast<double>(y)) == plot::black)
        (f.inside(static_cast<double>(x), static_cast<double>(y)) ? black_inside : black_outside)++;
  CHECK(black_inside == 0);
  CHECK(black_outside > 200);
}

TEST_CASE("line_chart: several series with their own colours and a legend, bad input") {
  std::vector<plot::series> lines(2);
  lines[0] = {"TRAIN", {0, 1, 2}, {1, 2, 3}, std::nullopt};
  lines[1] = {"TEST", {0, 1, 2}, {3, 2, 1}, plot::rgb{200, 0, 200}};
  plot::line_chart_options o;
  o.y_range = plot::range{0, 4};
  const augment::image_u8 img = plot::line_chart(lines, o);
  CHECK(img.shape() == shape{400, 640, 3});
  const plot::axes_frame f = plot::line_chart_frame(lines, o);
  CHECK(f.y.lo == 0.0);
  CHECK(at(img, f.px(0.5), f.py(1.5)) == plot::palette()[0]);
  CHECK(at(img, f.px(1.5), f.py(1.5)) == plot::rgb{200, 0, 200});
  // The legend box's swatches use the same colours (more pixels than the lines alone give).
  CHECK(count(img, plot::rgb{200, 0, 200}) > 0);
  lines[1].y.pop_back();
  CHECK_THROWS_WITH_AS((void)plot::line_chart(lines, o), doctest::Contains("'TEST' has 3 x values and 2 y"),
                       value_error);
  o.width = 60;
  lines[1].y.push_back(1);
  CHECK_THROWS_AS((void)plot::line_chart(lines, o), value_error);
}

TEST_CASE("scatter_plot: points in their class colours, a legend swatch per class") {
  const tensor<double, cpu_t> pts(shape{3, 2}, {0, 0, 1, 1, 0.5, 0.25});
  const tensor<std::int32_t, cpu_t> y(shape{3}, {0, 3, 9});
  const std::vector<std::string> names = {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"};
  plot::scatter_options o;
  o.point_radius = 3;
  const augment::image_u8 img = plot::scatter_plot(pts, y, names, o);
  CHECK(img.shape() == shape{520, 720, 3});
  const plot::axes_frame f = plot::scatter_frame(pts, o);
  CHECK(at(img, f.px(0), f.py(0)) == plot::palette()[0]);
  CHECK(at(img, f.px(1), f.py(1)) == plot::palette()[3]);
  CHECK(at(img, f.px(0.5), f.py(0.25)) == plot::palette()[9]);
  CHECK(at(img, f.px(0.5) + 2, f.py(0.25)) == plot::palette()[9]);
  // Legend: class k's swatch at (right + 12 .. +19, top + 4 + 14k .. +11).
  for (int k = 0; k < 10; ++k)
    CHECK(at(img, static_cast<double>(f.right + 15), static_cast<double>(f.top + 8 + 14 * k)) ==
          plot::palette()[static_cast<std::size_t>(k)]);
  // Float points give the same picture.
  const tensor<float, cpu_t> fp(shape{3, 2}, {0, 0, 1, 1, 0.5f, 0.25f});
  const augment::image_u8 img2 = plot::scatter_plot(fp, y, names, o);
  CHECK(std::equal(img.data(), img.data() + img.numel(), img2.data()));
  CHECK_THROWS_AS((void)plot::scatter_plot(pts, tensor<std::int32_t, cpu_t>(shape{2}), names), shape_error);
  CHECK_THROWS_AS((void)plot::scatter_plot(tensor<double, cpu_t>(shape{3, 3}), y, names), shape_error);
  const tensor<std::int32_t, cpu_t> neg(shape{3}, {0, -1, 0});
  CHECK_THROWS_AS((void)plot::scatter_plot(pts, neg, names), value_error);
}
