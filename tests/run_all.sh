#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, builds Release and runs every test;
# builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the whole suite again under
# it; runs the concurrency tests under ThreadSanitizer; builds the libFuzzer targets (clang) and
# runs each for a short bounded time from its seed corpus (docs/SECURITY.md).
# FATHOM_FUZZ_SECONDS (default 20) sets the time per fuzzer; 0 skips the fuzzers (as does a run
# that is already past FATHOM_FUZZ_START_BEFORE seconds, see below).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake/install_deps.sh
jobs=${FATHOM_JOBS:-2}

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFATHOM_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFATHOM_SANITIZE=address \
  -DFATHOM_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Every test, except those that run the library inside a process or build that is not
# instrumented (ASan's runtime must be loaded first): the Python (ctypes), Node.js (koffi) and C#
# (Mono) examples and binding tests, and consumer_test (installs and builds separate programs).
# The C examples, the C ABI tests and everything else run under ASan+UBSan.
echo "== the whole suite under ASan+UBSan"
ctest --test-dir build-asan --output-on-failure -j"$jobs" \
  -E '^(example_python_.*|example_node_.*|example_csharp_.*|consumer_test)$'

cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFATHOM_SANITIZE=thread \
  -DFATHOM_BUILD_BENCH=OFF -DFATHOM_BUILD_EXAMPLES=OFF >/dev/null
tsan_tests=(session_concurrency_test session_test runtime_thread_pool_test)
cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]}"
export TSAN_OPTIONS=halt_on_error=1
for t in "${tsan_tests[@]}"; do
  echo "== $t (ThreadSanitizer)"
  "build-tsan/tests/$t" --gtest_brief=1
done

echo "== ${SECONDS}s gone by before the fuzz stage"
fuzz_seconds=${FATHOM_FUZZ_SECONDS:-20}
# CI has 90 minutes: the fuzz stage (one more full build with clang, ~15 minutes on 2 cores, then
# 8 x FATHOM_FUZZ_SECONDS) starts only when at most FATHOM_FUZZ_START_BEFORE seconds (default 60
# minutes) have gone by, and says so when it skips. (The stages before it took ~46 minutes in CI
# on 2026-11-22, when a 45-minute limit skipped the fuzzers.)
fuzz_start_before=${FATHOM_FUZZ_START_BEFORE:-3600}
if [ "$fuzz_seconds" != 0 ] && [ "$SECONDS" -gt "$fuzz_start_before" ]; then
  echo "== fuzzers SKIPPED: ${SECONDS}s have gone by (limit ${fuzz_start_before}s for starting them)"
  fuzz_seconds=0
fi
if [ "$fuzz_seconds" != 0 ]; then
  unset ASAN_OPTIONS UBSAN_OPTIONS
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFATHOM_BUILD_FUZZERS=ON -DFATHOM_BUILD_TESTS=OFF -DFATHOM_BUILD_BENCH=OFF \
    -DFATHOM_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-fuzz -j"$jobs" --target fuzzers
  tests/fuzz/run_fuzzers.sh build-fuzz "$fuzz_seconds"
fi
