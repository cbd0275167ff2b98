# simclr_find_nccl(): defines the imported target simclr::nccl_library (libnccl and nccl.h) when
# NCCL is found in NCCL_ROOT (CMake or environment variable) or beside the CUDA toolkit
# (CUDAToolkit must be found first). NCCL ships with the CUDA toolkit on the machines this
# project is developed on (/usr/local/cuda/include/nccl.h, lib64/libnccl.so); elsewhere it is
# NVIDIA's libnccl-dev package.
function(simclr_find_nccl)
  if(TARGET simclr::nccl_library)
    return()
  endif()
  find_path(SIMCLR_NCCL_INCLUDE_DIR nccl.h
            HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES include)
  find_library(SIMCLR_NCCL_LIBRARY nccl
               HINTS ${NCCL_ROOT} $ENV{NCCL_ROOT} ${CUDAToolkit_LIBRARY_DIR}
               PATH_SUFFIXES lib64 lib)
  if(SIMCLR_NCCL_INCLUDE_DIR AND SIMCLR_NCCL_LIBRARY)
    add_library(simclr::nccl_library UNKNOWN IMPORTED GLOBAL)
    set_target_properties(simclr::nccl_library PROPERTIES
      IMPORTED_LOCATION "${SIMCLR_NCCL_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${SIMCLR_NCCL_INCLUDE_DIR}")
  endif()
endfunction()
