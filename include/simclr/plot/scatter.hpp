// simclr::plot::scatter_plot: 2-D points coloured by class (tab10) with a legend of class names, e.g. a PCA of embeddings.
#pragma once

#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <simclr/augment/image.hpp>
#include <simclr/error.hpp>
#include <simclr/plot/axes.hpp>
#include <simclr/plot/canvas.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>

namespace simclr::plot {

/// Size and text of a scatter plot.
struct scatter_options {
  index_t width = 720;
  index_t height = 520;
  std::string title;
  std::string x_label;
  std::string y_label;
  double point_radius = 2.0;  ///< disc radius in pixels
  std::optional<range> x_range;  ///< default: the data's range plus 5 %
  std::optional<range> y_range;
  /// The right margin holds the legend (class names at 6 px per character).
  plot::margins margins{64, 150, 34, 46};
};

/// The axes frame scatter_plot draws `points` (N, 2) into.
[[nodiscard]] inline axes_frame scatter_frame(tensor_view<const double, cpu_t> points,
                                              const scatter_options& o = {}) {
  if (points.rank() != 2 || points.extent(1) != 2 || !points.is_contiguous())
    throw shape_error("simclr: plot::scatter_plot: points have shape " + points.shape().to_string() +
                      ", expected contiguous (N, 2)");
  std::vector<double> xs, ys;
  for (index_t i = 0; i < points.extent(0); ++i) {
    xs.push_back(points(i, 0));
    ys.push_back(points(i, 1));
  }
  return axes_frame(o.width, o.height, o.margins, o.x_range ? *o.x_range : data_range(xs),
                    o.y_range ? *o.y_range : data_range(ys));
}

/// Draws `points` (N, 2) as discs coloured palette()[label % 10] (more than 10 classes repeat
/// colours), in a fixed shuffled order so no class hides the others systematically; the legend
/// right of the plot lists `class_names` (or the label numbers when it is empty). Returns the
/// (height, width, 3) RGB image for io::write_png. Throws shape_error for mismatched shapes and
/// value_error for a negative label.
[[nodiscard]] inline augment::image_u8 scatter_plot(tensor_view<const double, cpu_t> points,
                                                    tensor_view<const std::int32_t, cpu_t> labels,
                                                    std::span<const std::string> class_names = {},
                                                    const scatter_options& o = {}) {
  const axes_frame f = scatter_frame(points, o);
  const index_t n = points.extent(0);
  if (labels.rank() != 1 || labels.extent(0) != n || !labels.is_contiguous())
    throw shape_error("simclr: plot::scatter_plot: labels have shape " + labels.shape().to_string() +
                      ", expected (" + std::to_string(n) + ")");
  std::int32_t classes = static_cast<std::int32_t>(class_names.size());
  for (index_t i = 0; i < n; ++i) {
    if (labels.data()[i] < 0)
      throw value_error("simclr: plot::scatter_plot: label " + std::to_string(i) + " is " +
                        std::to_string(labels.data()[i]) + ", expected ≥ 0");
    classes = std::max(classes, labels.data()[i] + 1);
  }
  canvas c(o.width, o.height);
  draw_axes(c, f, o.title, o.x_label, o.y_label);
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t{0});
  random::stream s(random::key(0x5CA77E2u));
  for (std::size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[s.uniform_int(static_cast<std::uint32_t>(i))]);
  for (index_t i : order) {
    const double x = f.px(points(i, 0)), y = f.py(points(i, 1));
    if (f.inside(x, y)) c.disc(x, y, o.point_radius, palette()[static_cast<std::size_t>(labels.data()[i]) % 10]);
  }
  const index_t lx = f.right + 12;
  for (std::int32_t k = 0; k < classes; ++k) {
    const index_t ly = f.top + 4 + static_cast<index_t>(k) * 14;
    c.fill_rect(lx, ly, 8, 8, palette()[static_cast<std::size_t>(k) % 10]);
    const std::string name = k < static_cast<std::int32_t>(class_names.size())
                                 ? class_names[static_cast<std::size_t>(k)]
                                 : std::to_string(k);
    c.text(lx + 13, ly + 1, name, black);
  }
  return std::move(c).image();
}

/// Float points (N, 2), converted to double.
[[nodiscard]] inline augment::image_u8 scatter_plot(tensor_view<const float, cpu_t> points,
                                                    tensor_view<const std::int32_t, cpu_t> labels,
                                                    std::span<const std::string> class_names = {},
                                                    const scatter_options& o = {}) {
  tensor<double, cpu_t> p(points.shape(), uninitialized);
  if (!points.is_contiguous())
    throw shape_error("simclr: plot::scatter_plot: points must be contiguous");
  for (index_t i = 0; i < points.numel(); ++i) p.data()[i] = points.data()[i];
  return scatter_plot(p.view(), labels, class_names, o);
}

}  // namespace simclr::plot
