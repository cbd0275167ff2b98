// simclr::plot::line_chart: one or more (x, y) series as lines on labelled axes, e.g. the loss per step.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <simclr/augment/image.hpp>
#include <simclr/error.hpp>
#include <simclr/plot/axes.hpp>
#include <simclr/plot/canvas.hpp>

namespace simclr::plot {

/// One line: its name (shown in the legend when there are several), points and colour (default:
/// palette()[position in the list]).
struct series {
  std::string name;
  std::vector<double> x;  ///< same length as y; non-finite points break the line
  std::vector<double> y;
  std::optional<rgb> color;
};

/// Size, text and axis ranges of a line chart.
struct line_chart_options {
  index_t width = 640;
  index_t height = 400;
  std::string title;
  std::string x_label;
  std::string y_label;
  std::optional<range> x_range;  ///< default: the data's range (no padding on x)
  std::optional<range> y_range;  ///< default: the data's range plus 5 % on each side
  int thickness = 2;             ///< line width in pixels
  plot::margins margins{};
};

/// The axes frame line_chart draws `lines` into (for callers that want to annotate the picture).
[[nodiscard]] inline axes_frame line_chart_frame(std::span<const series> lines,
                                                 const line_chart_options& o = {}) {
  std::vector<double> xs, ys;
  for (const series& s : lines) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  return axes_frame(o.width, o.height, o.margins, o.x_range ? *o.x_range : data_range(xs, 0.0),
                    o.y_range ? *o.y_range : data_range(ys));
}

/// Draws `lines` on axes with ticks, grid, axis labels and title; a legend (top right, inside the
/// plot area) when there is more than one series. Returns the (height, width, 3) RGB image for
/// io::write_png. Throws value_error when a series' x and y differ in length, or the picture is
/// too small for its margins.
[[nodiscard]] inline augment::image_u8 line_chart(std::span<const series> lines,
                                                  const line_chart_options& o = {}) {
  for (const series& s : lines)
    if (s.x.size() != s.y.size())
      throw value_error("simclr: plot::line_chart: series '" + s.name + "' has " +
                        std::to_string(s.x.size()) + " x values and " + std::to_string(s.y.size()) +
                        " y values");
  const axes_frame f = line_chart_frame(lines, o);
  canvas c(o.width, o.height);
  draw_axes(c, f, o.title, o.x_label, o.y_label);
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const series& s = lines[k];
    const rgb col = s.color ? *s.color : palette()[k % palette().size()];
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double x1 = f.px(s.x[i]), y1 = f.py(s.y[i]);
      if (i > 0 && std::isfinite(s.x[i - 1]) && std::isfinite(s.y[i - 1])) {
        c.line(f.px(s.x[i - 1]), f.py(s.y[i - 1]), x1, y1, col, o.thickness);
      } else if (s.x.size() == 1 || i + 1 == s.x.size() ||
                 !(std::isfinite(s.x[i + 1]) && std::isfinite(s.y[i + 1]))) {
        c.disc(x1, y1, o.thickness, col);  // an isolated point
      }
    }
  }
  // Redraw the margins' background so lines outside a user-given range do not spill over labels.
  canvas clean(o.width, o.height);
  draw_axes(clean, f, o.title, o.x_label, o.y_label);
  for (index_t y = 0; y < o.height; ++y)
    for (index_t x = 0; x < o.width; ++x)
      if (!f.inside(static_cast<double>(x), static_cast<double>(y))) c.set(x, y, clean.get(x, y));
  if (lines.size() > 1) {
    index_t widest = 0;
    for (const series& s : lines) widest = std::max(widest, text_width(s.name));
    const index_t w = widest + 30, h = static_cast<index_t>(lines.size()) * 12 + 6;
    // The corner of the plot area where the box covers the fewest drawn pixels (top right first
    // on a tie).
    const index_t xs[2] = {f.right - w - 6, f.left + 7}, ys[2] = {f.top + 6, f.bottom - h - 6};
    index_t x0 = xs[0], y0 = ys[0], fewest = -1;
    for (index_t yi : ys)
      for (index_t xi : xs) {
        index_t covered = 0;
        for (index_t y = std::max<index_t>(yi, 0); y < std::min(yi + h, o.height); ++y)
          for (index_t x = std::max<index_t>(xi, 0); x < std::min(xi + w, o.width); ++x) {
            const rgb p = c.get(x, y);
            covered += (p == white || p == grid_gray || p == axis_gray) ? 0 : 1;
          }
        if (fewest < 0 || covered < fewest) {
          fewest = covered;
          x0 = xi;
          y0 = yi;
        }
      }
    c.fill_rect(x0, y0, w, h, white);
    c.rect(x0, y0, w, h, axis_gray);
    for (std::size_t k = 0; k < lines.size(); ++k) {
      const rgb col = lines[k].color ? *lines[k].color : palette()[k % palette().size()];
      const index_t ly = y0 + 5 + static_cast<index_t>(k) * 12;
      c.fill_rect(x0 + 5, ly + 2, 14, 3, col);
      c.text(x0 + 24, ly, lines[k].name, black);
    }
  }
  return std::move(c).image();
}

/// One series y[0..n) against x = 0, 1, ..., n − 1 (a loss per step), in palette()[0].
[[nodiscard]] inline augment::image_u8 line_chart(std::span<const double> y,
                                                  const line_chart_options& o = {}) {
  series s;
  s.y.assign(y.begin(), y.end());
  for (std::size_t i = 0; i < y.size(); ++i) s.x.push_back(static_cast<double>(i));
  return line_chart(std::span<const series>(&s, 1), o);
}

}  // namespace simclr::plot
