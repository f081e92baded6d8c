#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs dependencies, builds Release and runs every test,
# then builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the parser and
# hostile-input tests under it, then the concurrency tests under ThreadSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake/install_deps.sh
jobs=${FATHOM_JOBS:-2}

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFATHOM_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFATHOM_SANITIZE=address \
  -DFATHOM_BUILD_BENCH=OFF -DFATHOM_BUILD_EXAMPLES=OFF >/dev/null
asan_tests=(format_gguf_test format_gguf_mutation_test format_safetensors_test model_mutation_test
            model_deepseek_test model_deepseek_config_test model_deepseek_export_test
            tokenizer_spm_test capi_test)
cmake --build build-asan -j"$jobs" --target "${asan_tests[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${asan_tests[@]}"; do
  echo "== $t (ASan+UBSan)"
  if [ "$t" = capi_test ]; then "build-asan/tests/$t"; else "build-asan/tests/$t" --gtest_brief=1; fi
done

cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFATHOM_SANITIZE=thread \
  -DFATHOM_BUILD_BENCH=OFF -DFATHOM_BUILD_EXAMPLES=OFF >/dev/null
tsan_tests=(session_concurrency_test session_test)
cmake --build build-tsan -j"$jobs" --target "${tsan_tests[@]}"
export TSAN_OPTIONS=halt_on_error=1
for t in "${tsan_tests[@]}"; do
  echo "== $t (ThreadSanitizer)"
  "build-tsan/tests/$t" --gtest_brief=1
done
