// Raw-pixel baselines of the evaluation protocols on Fashion-MNIST: linear evaluation (L-BFGS
// logistic regression, L2 1e-4, standardised pixels) and the kNN monitor (cosine, k = 200,
// τ = 0.1). These are the numbers a learned representation has to beat.
//
//   raw_pixel_baseline [--dir /usr/share/datasets/fashion-mnist] [--no-linear] [--no-knn]
//                      [--tau 0.1] [--k 200] [--max-iterations 100] [--plot-dir DIR]
//
// --plot-dir writes pca_test.png (the test pixels' first two principal components, coloured by
// class) there. Needs Debian's dataset-fashion-mnist (scripts/deps.sh installs it).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "cli_checks.hpp"

#include <simclr/data/idx.hpp>
#include <simclr/eval/knn.hpp>
#include <simclr/eval/linear.hpp>
#include <simclr/io/image.hpp>
#include <simclr/plot/pca.hpp>
#include <simclr/plot/scatter.hpp>

using namespace simclr;

namespace {

/// (N, H·W·C) floats x / 255: the raw-pixel "representation".
tensor<float, cpu_t> pixels(const data::dataset& d) {
  const index_t n = d.size(), dim = d.height() * d.width() * d.channels();
  tensor<float, cpu_t> x(shape{n, dim}, uninitialized);
  for (index_t i = 0; i < n * dim; ++i) x.data()[i] = static_cast<float>(d.images.data()[i]) / 255.0f;
  return x;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) try {
  std::string dir = data::fashion_mnist_default_dir, plot_dir;
  bool linear = true, knn = true;
  eval::knn_options knn_opt;
  eval::logistic_options lin_opt;
  CLI::App app{"Raw-pixel baselines of linear evaluation and the kNN monitor on Fashion-MNIST"};
  app.add_option("--dir", dir, "folder with the IDX .gz files")->capture_default_str();
  bool no_linear = false, no_knn = false;
  app.add_flag("--no-linear", no_linear, "skip the linear evaluation");
  app.add_flag("--no-knn", no_knn, "skip the kNN monitor");
  app.add_option("--tau", knn_opt.temperature, "kNN vote temperature")->capture_default_str();
  app.add_option("--k", knn_opt.k, "kNN neighbours")->capture_default_str()
      ->check(cli_checks::positive);
  app.add_option("--max-iterations", lin_opt.max_iterations, "L-BFGS iterations at most")
      ->capture_default_str()->check(cli_checks::positive);
  app.add_option("--plot-dir", plot_dir, "write pca_test.png (test pixels, PCA) here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  linear = !no_linear;
  knn = !no_knn;
  auto t0 = std::chrono::steady_clock::now();
  const data::dataset train = data::fashion_mnist(dir, data::split::train);
  const data::dataset test = data::fashion_mnist(dir, data::split::test);
  const tensor<float, cpu_t> x_train = pixels(train), x_test = pixels(test);
  std::printf("Fashion-MNIST: %lld train, %lld test images of %lldx%lld, read in %.2f s, %zu threads\n",
              static_cast<long long>(train.size()), static_cast<long long>(test.size()),
              static_cast<long long>(train.height()), static_cast<long long>(train.width()),
              seconds_since(t0), parallel::num_threads());

  if (linear) {
    t0 = std::chrono::steady_clock::now();
    const eval::linear_eval_result r =
        eval::linear_eval(x_train, train.labels, x_test, test.labels, 10, lin_opt);
    std::printf("linear eval (L-BFGS logistic regression, L2 %g, standardised pixels): test top-1 "
                "%.2f%%, train %.2f%%; %d iterations, %d evaluations, loss %.6f, |grad| %.2e (%s); "
                "%.1f s\n",
                lin_opt.l2, 100 * r.test_accuracy, 100 * r.train_accuracy, r.model.iterations,
                r.model.evaluations, r.model.loss, r.model.gradient_norm,
                r.model.stop_reason.c_str(), seconds_since(t0));
  }
  if (knn) {
    t0 = std::chrono::steady_clock::now();
    const eval::knn_result r =
        eval::knn_classify(x_train, train.labels, x_test, test.labels, 10, knn_opt);
    std::printf("kNN monitor (cosine, k = %lld, tau = %g, weighted vote): test top-1 %.2f%%; %.1f s\n",
                static_cast<long long>(knn_opt.k), knn_opt.temperature, 100 * r.accuracy,
                seconds_since(t0));
  }
  if (!plot_dir.empty()) {
    std::filesystem::create_directories(plot_dir);
    const plot::pca_result p = plot::pca(x_test, 2);
    const tensor<double, cpu_t> xy = p.project(x_test);
    plot::scatter_options opt;
    opt.title = "FASHION-MNIST TEST PIXELS, PCA";
    opt.x_label = "PC 1";
    opt.y_label = "PC 2";
    const auto img = plot::scatter_plot(xy, test.labels, test.class_names, opt);
    const std::filesystem::path out = std::filesystem::path(plot_dir) / "pca_test.png";
    io::write_png(out, img);
    std::printf("wrote %s (explained variance %.1f%% + %.1f%%)\n", out.c_str(),
                100 * p.explained_variance_ratio[0], 100 * p.explained_variance_ratio[1]);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "raw_pixel_baseline: %s\n", e.what());
  return 1;
}
