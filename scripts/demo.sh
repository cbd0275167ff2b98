#!/usr/bin/env bash
# The main job: installs missing Debian packages, builds the examples and runs the quickstart.
# Arguments go to the example: scripts/demo.sh [N] [D] [noise] [seed]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/deps.sh"
build="$("$root/scripts/configure.sh" -DSIMCLR_BUILD_EXAMPLES=ON)"
cmake --build "$build" -j "${SIMCLR_JOBS:-$(nproc)}" --target quickstart
"$build/examples/quickstart" "$@"
