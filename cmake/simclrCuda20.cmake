# CMake < 3.26 does not know that nvcc ≥ 12 accepts -std=c++20, so the compile feature
# cuda_std_20 (which simclr::cuda requires) is "not known". Teach it, in the calling scope,
# what CMake 3.26 knows. Call after enable_language(CUDA); a no-op on newer CMake.
macro(simclr_teach_cuda20)
  if(CMAKE_CUDA_COMPILER_LOADED AND NOT "cuda_std_20" IN_LIST CMAKE_CUDA_COMPILE_FEATURES
     AND CMAKE_CUDA_COMPILER_ID STREQUAL "NVIDIA"
     AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.0)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_COMPILE_FEATURES cuda_std_20)
    list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
  endif()
endmacro()
