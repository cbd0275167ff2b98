# simclr_find_cudnn(): defines the imported target simclr::cudnn (the cuDNN library, its headers
# and SIMCLR_HAS_CUDNN=1) when cuDNN's cudnn.h and libcudnn are found in CUDNN_ROOT (CMake or
# environment variable) or beside the CUDA toolkit (CUDAToolkit must be found first). cuDNN
# ships with the CUDA toolkit on the machines this project is developed on; elsewhere it is
# NVIDIA's separate download. Without it simclr::cuda convolves by im2col + cuBLAS.
function(simclr_find_cudnn)
  if(TARGET simclr::cudnn)
    return()
  endif()
  find_path(SIMCLR_CUDNN_INCLUDE_DIR cudnn.h
            HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_INCLUDE_DIRS}
            PATH_SUFFIXES include)
  find_library(SIMCLR_CUDNN_LIBRARY cudnn
               HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_LIBRARY_DIR}
               PATH_SUFFIXES lib64 lib)
  if(SIMCLR_CUDNN_INCLUDE_DIR AND SIMCLR_CUDNN_LIBRARY)
    add_library(simclr::cudnn UNKNOWN IMPORTED GLOBAL)
    set_target_properties(simclr::cudnn PROPERTIES
      IMPORTED_LOCATION "${SIMCLR_CUDNN_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${SIMCLR_CUDNN_INCLUDE_DIR}"
      INTERFACE_COMPILE_DEFINITIONS SIMCLR_HAS_CUDNN=1)
  endif()
endfunction()
