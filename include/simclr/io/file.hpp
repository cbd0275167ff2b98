// simclr::io::require_regular_file: what every reader checks before it opens a path (and the
// file-descriptor guard the readers and writers share).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

#include <simclr/error.hpp>

namespace simclr::io {

/// Throws io_error naming `path` unless it is a regular file (or a link to one): a missing path,
/// a directory, and a FIFO, socket or device — which would block a reader forever or never
/// end — are refused before anything is opened. `expected` says what the file should be
/// ("an IDX images file", "a checkpoint", ...) and goes into the message.
inline void require_regular_file(const std::filesystem::path& path, const std::string& expected) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st))
    throw io_error(path.string(), "cannot open (" +
                                      (ec ? ec.message() : std::string("No such file or directory")) +
                                      "), expected " + expected);
  if (std::filesystem::is_directory(st))
    throw io_error(path.string(), "is a directory, expected " + expected);
  if (!std::filesystem::is_regular_file(st)) {
    const char* kind = std::filesystem::is_fifo(st)             ? "a FIFO (named pipe)"
                       : std::filesystem::is_socket(st)         ? "a socket"
                       : std::filesystem::is_character_file(st) ? "a character device"
                       : std::filesystem::is_block_file(st)     ? "a block device"
                                                                 : "not a regular file";
    throw io_error(path.string(), std::string("is ") + kind + ", expected " + expected +
                                      " (a regular file)");
  }
}

namespace detail {

/// Owns a POSIX file descriptor: closed when the guard goes (reset() reports close's errno).
struct fd_guard {
  int fd = -1;
  fd_guard() = default;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() { reset(); }
  /// Closes; returns 0 or the errno of close().
  int reset() noexcept {
    int e = 0;
    if (fd >= 0 && ::close(fd) != 0) e = errno;
    fd = -1;
    return e;
  }
};

}  // namespace detail

}  // namespace simclr::io
