# Sourced by gpu_check.sh and gpu_profile.sh: makes the shared libraries of programs built on
# another machine (gpu_prebuild.sh) findable here. Where the CUDA toolkit's libcudart/libcublas
# are not on the loader's path, PyTorch's nvidia-* wheels carry them: their lib folders go on
# LD_LIBRARY_PATH. Returns 1, listing what is missing, if a library is still not found.
# Usage: . benchmarks/gpu_libs.sh; gpu_libs_resolve program...
gpu_libs_missing() { ldd "$@" | grep 'not found' || true; }
gpu_libs_resolve() {
  if [ -n "$(gpu_libs_missing "$@")" ]; then
    local wheel_libs
    wheel_libs="$(python3 -c 'import glob, nvidia, os; print(":".join(sorted({os.path.dirname(p) for d in nvidia.__path__ for p in glob.glob(d + "/*/lib/lib*.so*")})))' 2>/dev/null || true)"
    [ -z "$wheel_libs" ] || export LD_LIBRARY_PATH="$wheel_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  [ -z "$(gpu_libs_missing "$@")" ] || { gpu_libs_missing "$@"; return 1; }
}
