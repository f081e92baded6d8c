#!/usr/bin/env bash
# Installs fathom's build and test dependencies from Debian's packages, only the missing ones.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config
      libeigen3-dev libdnnl-dev libabsl-dev libprotobuf-dev protobuf-compiler
      libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libicu-dev
      ocl-icd-opencl-dev clang libclang-rt-14-dev
      python3 ca-certificates
      mono-mcs  # the C# example (examples/csharp): Mono's compiler and runtime
      # The demo model's tokenizer test (tests/model_demo_test.cc) encodes the whole KJV corpus
      # with spm_encode and compares.
      sentencepiece bible-kjv)
# The Node.js example (examples/node) needs node and npm; a machine that has them from elsewhere
# (e.g. NodeSource, whose nodejs bundles npm) keeps them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
