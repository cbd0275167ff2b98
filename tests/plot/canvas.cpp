// Tests of <simclr/plot/canvas.hpp> and <simclr/plot/axes.hpp>: pixels, lines, discs, the font,
// nice ticks and the data → pixel map.
#include <simclr/plot/axes.hpp>
#include <simclr/plot/canvas.hpp>

#include <doctest/doctest.h>

using namespace simclr;

TEST_CASE("canvas: size, background, rectangles, lines and discs at the expected pixels") {
  plot::canvas c(20, 10, plot::rgb{1, 2, 3});
  CHECK(c.image().shape() == shape{10, 20, 3});
  CHECK(c.get(19, 9) == plot::rgb{1, 2, 3});
  c.fill_rect(2, 3, 4, 2, plot::black);
  CHECK(c.get(2, 3) == plot::black);
  CHECK(c.get(5, 4) == plot::black);
  CHECK(c.get(6, 4) == plot::rgb{1, 2, 3});
  c.line(0, 9, 9, 0, plot::white);  // the anti-diagonal of the left square
  for (index_t i = 0; i < 10; ++i) CHECK(c.get(i, 9 - i) == plot::white);
  c.disc(15, 5, 2, plot::palette()[3]);
  CHECK(c.get(15, 5) == plot::palette()[3]);
  CHECK(c.get(17, 5) == plot::palette()[3]);
  CHECK(c.get(17, 7) == plot::rgb{1, 2, 3});  // distance √8 > 2
  c.set(-1, 50, plot::black);                 // clipped, no effect
  CHECK_THROWS_AS((void)c.get(20, 0), value_error);
  CHECK_THROWS_AS(plot::canvas(0, 5), value_error);
}

TEST_CASE("canvas::text draws the 5×7 glyphs, lowercase as capitals, text_up rotates") {
  plot::canvas c(40, 20);
  c.text(1, 1, "1", plot::black);
  // "1": rows ..#.. .##.. ..#.. ... .###.
  CHECK(c.get(3, 1) == plot::black);
  CHECK(c.get(1, 1) == plot::white);
  CHECK(c.get(2, 2) == plot::black);
  CHECK(c.get(2, 7) == plot::black);
  CHECK(c.get(4, 7) == plot::black);
  plot::canvas a(12, 8), b(12, 8);
  a.text(0, 0, "ab", plot::black);
  b.text(0, 0, "AB", plot::black);
  CHECK(std::equal(a.image().data(), a.image().data() + a.image().numel(), b.image().data()));
  CHECK(plot::text_width("AB") == 11);
  CHECK(plot::text_width("AB", 2) == 22);
  plot::canvas up(8, 8);
  up.text_up(0, 6, "L", plot::black);  // L: the left column becomes the bottom row
  for (index_t x = 0; x < 7; ++x) CHECK(up.get(x, 6) == plot::black);
  CHECK(up.get(6, 2) == plot::black);  // the foot of the L, now on the right
  CHECK(up.get(0, 2) == plot::white);
}

TEST_CASE("palette: ten distinct colours") {
  const auto& p = plot::palette();
  for (std::size_t i = 0; i < p.size(); ++i)
    for (std::size_t j = i + 1; j < p.size(); ++j) CHECK(!(p[i] == p[j]));
  CHECK(p[0] == plot::rgb{31, 119, 180});
}

TEST_CASE("nice_ticks, tick_label and data_range") {
  CHECK(plot::nice_ticks({0.0, 1.0}, 6) == std::vector<double>{0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0});
  const auto t = plot::nice_ticks({-3.2, 47.0}, 6);
  CHECK(t.front() == 0.0);
  CHECK(t.back() == 40.0);
  CHECK(t.size() == 5);
  CHECK(plot::tick_label(0.25, 0.05) == "0.25");
  CHECK(plot::tick_label(1500, 500) == "1500");
  CHECK(plot::tick_label(-2, 1) == "-2");
  CHECK(plot::tick_label(2.5e7, 5e6) == "2.5E+07");
  const plot::range r = plot::data_range({1.0, 3.0, NAN}, 0.5);
  CHECK(r.lo == 0.0);
  CHECK(r.hi == 4.0);
  CHECK(plot::data_range({2.0}).lo == 1.5);
  CHECK(plot::data_range({}).hi == 1.0);
}

TEST_CASE("axes_frame maps the corners of the data ranges to the corners of the plot area") {
  const plot::axes_frame f(200, 100, plot::margins{10, 20, 5, 15}, {0.0, 4.0}, {-1.0, 1.0});
  CHECK(f.px(0.0) == 10.0);
  CHECK(f.px(4.0) == 179.0);
  CHECK(f.py(-1.0) == 84.0);
  CHECK(f.py(1.0) == 5.0);
  CHECK(f.inside(10, 5));
  CHECK(!f.inside(9, 5));
  CHECK_THROWS_AS(plot::axes_frame(30, 30, plot::margins{}, {0, 1}, {0, 1}), value_error);
  CHECK_THROWS_AS(plot::axes_frame(200, 200, plot::margins{}, {1, 1}, {0, 1}), value_error);
}
