// simclr::plot::canvas: an RGB raster with lines, discs, rectangles and a built-in 5×7 bitmap font; the tab10 palette.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <simclr/augment/image.hpp>
#include <simclr/error.hpp>
#include <simclr/tensor.hpp>

namespace simclr::plot {

/// An 8-bit RGB colour.
struct rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend constexpr bool operator==(const rgb&, const rgb&) = default;
};

inline constexpr rgb white{255, 255, 255};
inline constexpr rgb black{0, 0, 0};
inline constexpr rgb grid_gray{225, 225, 225};
inline constexpr rgb axis_gray{90, 90, 90};

/// Ten distinct colours (matplotlib's "tab10"); class c is drawn in palette()[c % 10].
[[nodiscard]] inline const std::array<rgb, 10>& palette() {
  static constexpr std::array<rgb, 10> colours = {{{31, 119, 180},
                                                   {255, 127, 14},
                                                   {44, 160, 44},
                                                   {214, 39, 40},
                                                   {148, 103, 189},
                                                   {140, 86, 75},
                                                   {227, 119, 194},
                                                   {127, 127, 127},
                                                   {188, 189, 34},
                                                   {23, 190, 207}}};
  return colours;
}

namespace detail {

/// A 5×7 glyph: 7 rows of 5 bits, most significant bit = leftmost pixel.
using glyph = std::array<std::uint8_t, 7>;

[[nodiscard]] constexpr std::uint8_t row(const char (&s)[6]) {
  std::uint8_t v = 0;
  for (int i = 0; i < 5; ++i) v = static_cast<std::uint8_t>((v << 1) | (s[i] == '#' ? 1 : 0));
  return v;
}

/// The glyph of `c`: digits, A–Z (lowercase letters are drawn as capitals) and . , - + : / ( )
/// % _ = ' ; anything else is a hollow box.
[[nodiscard]] inline glyph glyph_of(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  auto g = [](const char(&a)[6], const char(&b)[6], const char(&c2)[6], const char(&d)[6],
              const char(&e)[6], const char(&f)[6], const char(&h)[6]) {
    return glyph{row(a), row(b), row(c2), row(d), row(e), row(f), row(h)};
  };
  switch (c) {
    case '0': return g(".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###.");
    case '1': return g("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###.");
    case '2': return g(".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####");
    case '3': return g("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###.");
    case '4': return g("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#.");
    case '5': return g("#####", "#....", "####.", "....#", "....#", "#...#", ".###.");
    case '6': return g("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###.");
    case '7': return g("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#...");
    case '8': return g(".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###.");
    case '9': return g(".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##..");
    case 'A': return g(".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#");
    case 'B': return g("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####.");
    case 'C': return g(".###.", "#...#", "#....", "#....", "#....", "#...#", ".###.");
    case 'D': return g("###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###..");
    case 'E': return g("#####", "#....", "#....", "####.", "#....", "#....", "#####");
    case 'F': return g("#####", "#....", "#....", "####.", "#....", "#....", "#....");
    case 'G': return g(".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####");
    case 'H': return g("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#");
    case 'I': return g(".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###.");
    case 'J': return g("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##..");
    case 'K': return g("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#");
    case 'L': return g("#....", "#....", "#....", "#....", "#....", "#....", "#####");
    case 'M': return g("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#");
    case 'N': return g("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#");
    case 'O': return g(".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###.");
    case 'P': return g("####.", "#...#", "#...#", "####.", "#....", "#....", "#....");
    case 'Q': return g(".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#");
    case 'R': return g("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#");
    case 'S': return g(".####", "#....", "#....", ".###.", "....#", "....#", "####.");
    case 'T': return g("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#..");
    case 'U': return g("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###.");
    case 'V': return g("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#..");
    case 'W': return g("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#.");
    case 'X': return g("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#");
    case 'Y': return g("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#..");
    case 'Z': return g("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####");
    case ' ': return g(".....", ".....", ".....", ".....", ".....", ".....", ".....");
    case '.': return g(".....", ".....", ".....", ".....", ".....", ".##..", ".##..");
    case ',': return g(".....", ".....", ".....", ".....", ".##..", "..#..", ".#...");
    case '-': return g(".....", ".....", ".....", ".###.", ".....", ".....", ".....");
    case '+': return g(".....", "..#..", "..#..", "#####", "..#..", "..#..", ".....");
    case ':': return g(".....", ".##..", ".##..", ".....", ".##..", ".##..", ".....");
    case '/': return g(".....", "....#", "...#.", "..#..", ".#...", "#....", ".....");
    case '(': return g("...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#.");
    case ')': return g(".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#...");
    case '%': return g("##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##");
    case '_': return g(".....", ".....", ".....", ".....", ".....", ".....", "#####");
    case '=': return g(".....", ".....", "#####", ".....", "#####", ".....", ".....");
    case '\'': return g("..#..", "..#..", ".#...", ".....", ".....", ".....", ".....");
    default: return g("#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####");
  }
}

}  // namespace detail

/// Height of a line of text drawn at `scale` (7 pixels per scale unit).
[[nodiscard]] constexpr index_t text_height(int scale = 1) { return 7 * scale; }
/// Width of `s` drawn at `scale`: 6 pixels per character (5 + 1 spacing), minus the last gap.
[[nodiscard]] inline index_t text_width(std::string_view s, int scale = 1) {
  return s.empty() ? 0 : static_cast<index_t>(6 * s.size() - 1) * scale;
}

/// An RGB raster of width × height pixels, (0, 0) at the top left. Drawing clips at the edges.
/// image() is the (H, W, 3) 8-bit image io::write_png takes.
class canvas {
 public:
  /// A canvas filled with `background`. Throws value_error unless width and height are ≥ 1.
  canvas(index_t width, index_t height, rgb background = white) {
    if (width < 1 || height < 1)
      throw value_error("simclr: plot::canvas of " + std::to_string(width) + "×" +
                        std::to_string(height) + " pixels, expected at least 1×1");
    image_ = augment::image_u8(shape{height, width, 3}, uninitialized);
    fill_rect(0, 0, width, height, background);
  }

  [[nodiscard]] index_t width() const { return image_.extent(1); }
  [[nodiscard]] index_t height() const { return image_.extent(0); }

  /// Sets pixel (x, y) when it is inside the canvas.
  void set(index_t x, index_t y, rgb c) {
    if (x < 0 || y < 0 || x >= width() || y >= height()) return;
    std::uint8_t* p = image_.data() + (y * width() + x) * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
  /// The colour of pixel (x, y); value_error outside the canvas.
  [[nodiscard]] rgb get(index_t x, index_t y) const {
    if (x < 0 || y < 0 || x >= width() || y >= height())
      throw value_error("simclr: plot::canvas::get(" + std::to_string(x) + ", " +
                        std::to_string(y) + ") outside a " + std::to_string(width()) + "×" +
                        std::to_string(height()) + " canvas");
    const std::uint8_t* p = image_.data() + (y * width() + x) * 3;
    return {p[0], p[1], p[2]};
  }

  /// Fills the w × h rectangle whose top-left pixel is (x, y).
  void fill_rect(index_t x, index_t y, index_t w, index_t h, rgb c) {
    for (index_t yy = std::max<index_t>(y, 0); yy < std::min(y + h, height()); ++yy)
      for (index_t xx = std::max<index_t>(x, 0); xx < std::min(x + w, width()); ++xx) set(xx, yy, c);
  }
  /// The outline of the w × h rectangle at (x, y).
  void rect(index_t x, index_t y, index_t w, index_t h, rgb c) {
    fill_rect(x, y, w, 1, c);
    fill_rect(x, y + h - 1, w, 1, c);
    fill_rect(x, y, 1, h, c);
    fill_rect(x + w - 1, y, 1, h, c);
  }

  /// A straight line from (x0, y0) to (x1, y1) (pixel centres, rounded), `thickness` pixels wide
  /// (a square brush). Non-finite end points draw nothing.
  void line(double x0, double y0, double x1, double y1, rgb c, int thickness = 1) {
    if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
    // Clamp far-away end points so the loop stays short (the canvas is at most a few thousand px).
    const double lim = 1e5;
    x0 = std::clamp(x0, -lim, lim);
    y0 = std::clamp(y0, -lim, lim);
    x1 = std::clamp(x1, -lim, lim);
    y1 = std::clamp(y1, -lim, lim);
    auto xa = static_cast<index_t>(std::lround(x0)), ya = static_cast<index_t>(std::lround(y0));
    const auto xb = static_cast<index_t>(std::lround(x1)), yb = static_cast<index_t>(std::lround(y1));
    const index_t dx = std::abs(xb - xa), dy = -std::abs(yb - ya);
    const index_t sx = xa < xb ? 1 : -1, sy = ya < yb ? 1 : -1;
    index_t err = dx + dy;
    const int lo = -(thickness - 1) / 2, hi = thickness / 2;
    for (;;) {
      for (int oy = lo; oy <= hi; ++oy)
        for (int ox = lo; ox <= hi; ++ox) set(xa + ox, ya + oy, c);
      if (xa == xb && ya == yb) break;
      const index_t e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        xa += sx;
      }
      if (e2 <= dx) {
        err += dx;
        ya += sy;
      }
    }
  }

  /// A filled disc of radius `r` centred at (cx, cy): every pixel whose centre lies within r.
  void disc(double cx, double cy, double r, rgb c) {
    if (!std::isfinite(cx) || !std::isfinite(cy)) return;
    const auto x0 = static_cast<index_t>(std::floor(cx - r)), x1 = static_cast<index_t>(std::ceil(cx + r));
    const auto y0 = static_cast<index_t>(std::floor(cy - r)), y1 = static_cast<index_t>(std::ceil(cy + r));
    for (index_t y = y0; y <= y1; ++y)
      for (index_t x = x0; x <= x1; ++x) {
        const double ddx = static_cast<double>(x) - cx, ddy = static_cast<double>(y) - cy;
        if (ddx * ddx + ddy * ddy <= r * r + 1e-9) set(x, y, c);
      }
  }

  /// `s` in the built-in 5×7 font with its top-left corner at (x, y), each font pixel a
  /// scale × scale square. Lowercase letters are drawn as capitals.
  void text(index_t x, index_t y, std::string_view s, rgb c, int scale = 1) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const detail::glyph g = detail::glyph_of(s[i]);
      const index_t gx = x + static_cast<index_t>(6 * i) * scale;
      for (int r = 0; r < 7; ++r)
        for (int col = 0; col < 5; ++col)
          if ((g[static_cast<std::size_t>(r)] >> (4 - col)) & 1)
            fill_rect(gx + col * scale, y + r * scale, scale, scale, c);
    }
  }

  /// `s` rotated a quarter turn anticlockwise (reading bottom to top), the bottom-left corner of
  /// the first character at (x, y + ...): the text occupies x .. x + 7·scale − 1 horizontally and
  /// y − text_width(s) + 1 .. y vertically. For y-axis labels.
  void text_up(index_t x, index_t y, std::string_view s, rgb c, int scale = 1) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const detail::glyph g = detail::glyph_of(s[i]);
      const index_t gy = y - static_cast<index_t>(6 * i) * scale;
      for (int r = 0; r < 7; ++r)
        for (int col = 0; col < 5; ++col)
          if ((g[static_cast<std::size_t>(r)] >> (4 - col)) & 1)
            fill_rect(x + r * scale, gy - (col + 1) * scale + 1, scale, scale, c);
    }
  }

  /// The pixels as an (H, W, 3) 8-bit image.
  [[nodiscard]] const augment::image_u8& image() const& { return image_; }
  [[nodiscard]] augment::image_u8 image() && { return std::move(image_); }

 private:
  augment::image_u8 image_;
};

}  // namespace simclr::plot
