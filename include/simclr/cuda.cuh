// Umbrella header for the CUDA backend (nvcc only): the CPU library plus every CUDA kernel.
#pragma once
#if !defined(__CUDACC__)
#error "simclr: this is a CUDA header: compile the including file with nvcc and link simclr::cuda (SIMCLR_ENABLE_CUDA=ON); CPU-only code includes <simclr/simclr.hpp> instead"
#endif

#include <simclr/simclr.hpp>

#include <simclr/augment/cuda/two_views.cuh>
#include <simclr/nn/cuda/batch_norm.cuh>
#include <simclr/backend/cuda/check.cuh>
#include <simclr/nn/cuda/conv2d.cuh>
#include <simclr/backend/cuda/cublas.cuh>
#include <simclr/backend/cuda/device.cuh>
#include <simclr/nn/cuda/elementwise.cuh>
#include <simclr/ops/cuda/gemm.cuh>
#include <simclr/backend/cuda/launch.cuh>
#include <simclr/backend/cuda/memory.cuh>
#include <simclr/nn/cuda/pooling.cuh>
#include <simclr/random/cuda/fill.cuh>
#include <simclr/transfer.cuh>
#include <simclr/loss/cuda/barlow_twins.cuh>
#include <simclr/loss/cuda/info_nce.cuh>
#include <simclr/loss/cuda/margin_triplet.cuh>
#include <simclr/loss/cuda/normalized_mse.cuh>
#include <simclr/loss/cuda/nt_logistic.cuh>
#include <simclr/loss/cuda/nt_xent.cuh>
#include <simclr/loss/cuda/vicreg.cuh>
#include <simclr/optim/cuda/update.cuh>
#include <simclr/train/cuda/prefetch.cuh>
