#!/usr/bin/env bash
# Installs the Debian packages simclr's build, tests and examples need — only the missing ones.
# Idempotent: prints nothing and touches nothing when everything is present. Sourced or run.
set -euo pipefail

SIMCLR_PACKAGES=(
  cmake ninja-build g++ clang libclang-rt-14-dev ccache pkg-config
  libeigen3-dev libxtensor-dev doctest-dev libstb-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
  liblbfgspp-dev libarchive-dev libpng-dev libturbojpeg0-dev dataset-fashion-mnist
  openmpi-bin libopenmpi-dev
  mpich libmpich-dev  # beside OpenMPI (the default): the MPI tests run against both
)

missing=()
for p in "${SIMCLR_PACKAGES[@]}" ${SIMCLR_EXTRA_PACKAGES:-}; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  cmd=(apt-get install -y --no-install-recommends "${missing[@]}")
  if [ "$(id -u)" -ne 0 ]; then
    echo "simclr: missing Debian packages; as root, run:" >&2
    echo "  apt-get update && ${cmd[*]}" >&2
    exit 1
  fi
  echo "simclr: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  "${cmd[@]}" -qq
fi
