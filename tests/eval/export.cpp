// Tests of <simclr/eval/export.hpp>: safetensors and CSV round trips, atomic replacement, errors.
#include <simclr/eval/export.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "data/files.hpp"

using namespace simclr;
namespace fs = std::filesystem;

namespace {
tensor<float, cpu_t> features() {
  return tensor<float, cpu_t>(shape{3, 2}, {0.1f, -2.5f, 1e-8f, 3.0f, 123456.789f, -0.0f});
}
tensor<std::int32_t, cpu_t> labels() { return tensor<std::int32_t, cpu_t>(shape{3}, {2, 0, 9}); }
}  // namespace

TEST_CASE("write_embeddings / read_embeddings: a safetensors round trip with metadata") {
  test::temp_dir dir("export");
  const fs::path p = dir / "emb.safetensors";
  eval::write_embeddings(p, features(), labels(), {{"split", "test"}});
  const eval::embeddings e = eval::read_embeddings(p);
  CHECK(e.features.shape() == shape{3, 2});
  CHECK(std::equal(e.features.data(), e.features.data() + 6, features().data()));
  CHECK(e.labels(2) == 9);
  CHECK(e.metadata.at("split") == "test");
  const io::safetensors_file f = io::read_safetensors(p);
  CHECK(f.info("embeddings").type == io::dtype::f32);
  CHECK(f.info("labels").type == io::dtype::i32);
  // A file without the two tensors is refused with a message naming it.
  const fs::path other = dir / "other.safetensors";
  const tensor<float, cpu_t> w(shape{1});
  io::write_safetensors(other, {io::entry<float>("w", w)});
  test::expect_io_error([&] { return eval::read_embeddings(other); }, other, {"\"embeddings\""});
}

TEST_CASE("write_embeddings_csv: header, 9 significant digits that read back exactly, atomic") {
  test::temp_dir dir("export");
  const fs::path p = dir / "emb.csv";
  test::write_file(p, {'o', 'l', 'd'});
  eval::write_embeddings_csv(p, features(), labels());
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  CHECK(line == "label,f0,f1");
  const tensor<float, cpu_t> f = features();
  for (index_t i = 0; i < 3; ++i) {
    REQUIRE(std::getline(in, line));
    std::stringstream row(line);
    std::string cell;
    std::getline(row, cell, ',');
    CHECK(std::stoi(cell) == labels()(i));
    for (index_t j = 0; j < 2; ++j) {
      std::getline(row, cell, ',');
      CHECK(std::strtof(cell.c_str(), nullptr) == f(i, j));
    }
  }
  CHECK(!std::getline(in, line));
  // Only the target remains in the directory: the temporary file was renamed.
  index_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) files += e.path().filename() == "emb.csv" ? 1 : 10;
  CHECK(files == 1);
}

TEST_CASE("embedding export: mismatched shapes and unwritable paths") {
  test::temp_dir dir("export");
  CHECK_THROWS_AS(eval::write_embeddings_csv(dir / "x.csv", features(),
                                             tensor<std::int32_t, cpu_t>(shape{2})),
                  shape_error);
  CHECK_THROWS_AS(eval::write_embeddings(dir / "x.st", tensor<float, cpu_t>(shape{3}), labels()),
                  shape_error);
  const fs::path nowhere = dir / "missing" / "x.csv";
  test::expect_io_error([&] { eval::write_embeddings_csv(nowhere, features(), labels()); return 0; },
                        nowhere, {"cannot create the temporary file"});
  CHECK(!fs::exists(dir / "x.csv"));
}
