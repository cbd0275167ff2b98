// Umbrella header for the CPU library: everything except I/O and the CUDA backend.
#pragma once

#include <simclr/backend/cpu/gemm.hpp>
#include <simclr/backend/cpu/memory.hpp>
#include <simclr/backend/memory.hpp>
#include <simclr/backend/tags.hpp>
#include <simclr/concepts.hpp>
#include <simclr/config.hpp>
#include <simclr/error.hpp>
#include <simclr/interop/eigen.hpp>
#include <simclr/mode.hpp>
#include <simclr/ops/gemm.hpp>
#include <simclr/parallel/thread_pool.hpp>
#include <simclr/parameter.hpp>
#include <simclr/random/fill.hpp>
#include <simclr/random/philox.hpp>
#include <simclr/random/stream.hpp>
#include <simclr/shape.hpp>
#include <simclr/tensor.hpp>
#include <simclr/tensor_view.hpp>
