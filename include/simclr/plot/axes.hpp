// simclr::plot axes: data ranges, "nice" ticks (1, 2, 5 × 10^k), the data → pixel map and a framed, labelled plot area.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include <simclr/error.hpp>
#include <simclr/plot/canvas.hpp>

namespace simclr::plot {

/// A closed interval of data values.
struct range {
  double lo = 0.0;
  double hi = 1.0;
};

/// Space around the plot area, in pixels (tick labels, axis labels, title, legend live there).
struct margins {
  index_t left = 64;
  index_t right = 16;
  index_t top = 34;
  index_t bottom = 46;
};

/// The smallest range holding every finite value, widened by `pad` (a fraction of its length)
/// on both sides; a single value v gives [v − 0.5, v + 0.5] and no finite value [0, 1].
[[nodiscard]] inline range data_range(const std::vector<double>& values, double pad = 0.05) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : values)
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (!(lo <= hi)) return {0.0, 1.0};
  if (hi - lo <= 1e-12 * std::max(1.0, std::abs(lo))) return {lo - 0.5, hi + 0.5};
  const double p = pad * (hi - lo);
  return {lo - p, hi + p};
}

/// Tick positions inside `r`: multiples of a step of 1, 2 or 5 × 10^k chosen so that there are
/// at most `max_ticks` (and as many as possible).
[[nodiscard]] inline std::vector<double> nice_ticks(range r, int max_ticks = 6) {
  std::vector<double> ticks;
  const double span = r.hi - r.lo;
  if (!(span > 0.0) || !std::isfinite(span) || max_ticks < 2) return ticks;
  const double raw = span / max_ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (span / step <= max_ticks) break;
  }
  for (double t = std::ceil(r.lo / step - 1e-9) * step; t <= r.hi + 1e-9 * step; t += step)
    ticks.push_back(std::abs(t) < 1e-12 * step ? 0.0 : t);
  return ticks;
}

/// A tick label: fixed-point with as many decimals as the tick step needs ("0.25", "1500"), or
/// three significant digits in exponent form for very large or small values ("1.5E+06").
[[nodiscard]] inline std::string tick_label(double v, double step) {
  char buf[32];
  const double a = std::max(std::abs(v), step);
  if (a >= 1e6 || (step < 1e-4 && v != 0.0)) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  }
  std::string s = buf;
  for (char& c : s) c = static_cast<char>(c == 'e' ? 'E' : c);
  return s;
}

/// The plot area of a width × height picture and the affine map from data to pixels: x grows to
/// the right, y upwards (pixel rows grow downwards).
struct axes_frame {
  index_t left = 0, top = 0, right = 0, bottom = 0;  ///< plot area: columns [left, right], rows [top, bottom]
  range x, y;                                        ///< data shown

  /// The frame of a width × height picture with `m` around the plot area. Throws value_error
  /// when the area would be smaller than 16 × 16 pixels or a range is empty or not finite.
  axes_frame(index_t width, index_t height, const margins& m, range xr, range yr)
      : left(m.left), top(m.top), right(width - 1 - m.right), bottom(height - 1 - m.bottom), x(xr), y(yr) {
    if (right - left < 16 || bottom - top < 16)
      throw value_error("simclr: plot: a " + std::to_string(width) + "×" + std::to_string(height) +
                        " picture leaves no room for the plot area inside its margins");
    if (!(x.hi > x.lo) || !(y.hi > y.lo) || !std::isfinite(x.hi - x.lo) || !std::isfinite(y.hi - y.lo))
      throw value_error("simclr: plot: axis ranges must be finite with lo < hi");
  }
  /// Pixel column of data value `vx` (fractional).
  [[nodiscard]] double px(double vx) const {
    return static_cast<double>(left) + (vx - x.lo) / (x.hi - x.lo) * static_cast<double>(right - left);
  }
  /// Pixel row of data value `vy` (fractional).
  [[nodiscard]] double py(double vy) const {
    return static_cast<double>(bottom) - (vy - y.lo) / (y.hi - y.lo) * static_cast<double>(bottom - top);
  }
  /// True when pixel (x, y) is inside the plot area.
  [[nodiscard]] bool inside(double xp, double yp) const {
    return xp >= static_cast<double>(left) && xp <= static_cast<double>(right) &&
           yp >= static_cast<double>(top) && yp <= static_cast<double>(bottom);
  }
};

/// Draws the grid, the frame, tick marks and labels, the axis labels and the title (scale 2,
/// centred above the plot area) of `f` onto `c`.
inline void draw_axes(canvas& c, const axes_frame& f, const std::string& title,
                      const std::string& x_label, const std::string& y_label) {
  const std::vector<double> xt = nice_ticks(f.x, 8), yt = nice_ticks(f.y, 6);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1.0;
  for (double t : xt) {
    const auto p = static_cast<index_t>(std::lround(f.px(t)));
    c.fill_rect(p, f.top, 1, f.bottom - f.top + 1, grid_gray);
  }
  for (double t : yt) {
    const auto p = static_cast<index_t>(std::lround(f.py(t)));
    c.fill_rect(f.left, p, f.right - f.left + 1, 1, grid_gray);
  }
  c.rect(f.left, f.top, f.right - f.left + 1, f.bottom - f.top + 1, axis_gray);
  for (double t : xt) {
    const auto p = static_cast<index_t>(std::lround(f.px(t)));
    c.fill_rect(p, f.bottom + 1, 1, 4, axis_gray);
    const std::string s = tick_label(t, xstep);
    c.text(p - text_width(s) / 2, f.bottom + 8, s, black);
  }
  for (double t : yt) {
    const auto p = static_cast<index_t>(std::lround(f.py(t)));
    c.fill_rect(f.left - 4, p, 4, 1, axis_gray);
    const std::string s = tick_label(t, ystep);
    c.text(f.left - 7 - text_width(s), p - 3, s, black);
  }
  const index_t cx = (f.left + f.right) / 2, cy = (f.top + f.bottom) / 2;
  if (!x_label.empty()) c.text(cx - text_width(x_label) / 2, f.bottom + 24, x_label, black);
  if (!y_label.empty()) c.text_up(4, cy + text_width(y_label) / 2, y_label, black);
  if (!title.empty())
    c.text(cx - text_width(title, 2) / 2, std::max<index_t>(2, f.top - 8 - text_height(2)), title, black, 2);
}

}  // namespace simclr::plot
