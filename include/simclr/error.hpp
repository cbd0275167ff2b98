// The exception types simclr throws: every message names what was wrong and what was expected.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace simclr {

/// Base of every exception simclr throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A tensor had the wrong rank, extent or layout for an operation.
class shape_error : public error {
 public:
  using error::error;
};

/// An argument outside its documented range (a probability above 1, a negative width, ...).
class value_error : public error {
 public:
  using error::error;
};

/// Reading or writing a file failed; `path()` names the file, `what()` the field and reason.
class io_error : public error {
 public:
  io_error(std::string path, const std::string& reason)
      : error(path + ": " + reason), path_(std::move(path)) {}
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// A collective of a distributed run failed (an MPI or NCCL error, a rank that died, a watchdog
/// timeout). Names the rank that saw it and the collective ("all_reduce_sum").
class distributed_error : public error {
 public:
  distributed_error(int rank, std::string collective, const std::string& detail)
      : error("simclr: rank " + std::to_string(rank) + ": " + collective + ": " + detail),
        rank_(rank),
        collective_(std::move(collective)) {}
  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] const std::string& collective() const noexcept { return collective_; }

 private:
  int rank_;
  std::string collective_;
};

/// A CUDA runtime or cuBLAS call failed. Carries the call site and the status name
/// (e.g. "cudaErrorMemoryAllocation", "CUBLAS_STATUS_INVALID_VALUE"). Defined here, not in a
/// .cuh header, so host code compiled without nvcc can catch it.
class cuda_error : public error {
 public:
  cuda_error(const std::string& status_name, const std::string& detail, const char* file, int line)
      : error(std::string(file) + ":" + std::to_string(line) + ": " + status_name + ": " + detail),
        status_name_(status_name),
        file_(file),
        line_(line) {}
  [[nodiscard]] const std::string& status_name() const noexcept { return status_name_; }
  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] int line() const noexcept { return line_; }

 private:
  std::string status_name_;
  std::string file_;
  int line_;
};

}  // namespace simclr
