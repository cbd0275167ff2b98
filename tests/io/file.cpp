// Tests of <simclr/io/file.hpp>: what every reader checks before it opens a path.
#include <simclr/io/file.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

using namespace simclr;
namespace fs = std::filesystem;

namespace {
/// The message of the io_error require_regular_file throws for `p` (FAIL if none).
std::string refusal(const fs::path& p) {
  try {
    io::require_regular_file(p, "a test file");
  } catch (const io_error& e) {
    CHECK(e.path() == p.string());
    return e.what();
  }
  FAIL("no io_error for " << p.string());
  return {};
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("require_regular_file: regular files and links to them pass; everything else is named") {
  const fs::path dir = fs::temp_directory_path() / ("simclr-io-file-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "plain") << "x";
  CHECK_NOTHROW(io::require_regular_file(dir / "plain", "a test file"));
  std::ofstream(dir / "empty");
  CHECK_NOTHROW(io::require_regular_file(dir / "empty", "a test file"));  // size is the reader's business
  fs::create_symlink(dir / "plain", dir / "link");
  CHECK_NOTHROW(io::require_regular_file(dir / "link", "a test file"));

  CHECK(has(refusal(dir / "missing"), "cannot open (No such file or directory), expected a test file"));
  fs::create_symlink(dir / "missing", dir / "dangling");
  CHECK(has(refusal(dir / "dangling"), "cannot open"));
  CHECK(has(refusal(dir), "is a directory, expected a test file"));
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  CHECK(has(refusal(dir / "fifo"), "is a FIFO (named pipe), expected a test file (a regular file)"));
  CHECK(has(refusal("/dev/null"), "is a character device, expected a test file"));
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sp = (dir / "sock").string();
  REQUIRE(sp.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sp.c_str(), sp.size() + 1);
  REQUIRE(::bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  CHECK(has(refusal(dir / "sock"), "is a socket, expected a test file"));
  ::close(sock);
  fs::remove_all(dir);
}
