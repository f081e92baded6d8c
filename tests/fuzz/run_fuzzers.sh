#!/usr/bin/env bash
# Runs libFuzzer targets of a FATHOM_BUILD_FUZZERS build, each for a bounded time, from its seed
# corpus (tests/fuzz/make_corpus.py --seeds: generated files plus links to ../shared/fixtures).
# New inputs are kept in BUILD/fuzz-corpus/<target>; a finding (crash, leak, sanitizer report,
# timeout, memory limit) is written to BUILD/fuzz-artifacts/ and makes the script fail (a slow
# unit, over 10 s, is written there too but is not a failure).
#   usage: tests/fuzz/run_fuzzers.sh BUILD_DIR SECONDS_EACH [TARGET...]   (default: all targets)
#   extra libFuzzer flags: FATHOM_FUZZ_FLAGS="-jobs=2 -workers=2" ...
set -euo pipefail
build=$(cd "$1" && pwd)
secs=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(gguf gguf_model tokenizer_json spm_model chat_template tokenizer_encode safetensors_hf
           session_state)
fi
seeds=$build/fuzz-seeds
python3 "$src/make_corpus.py" --seeds "$seeds" >/dev/null
mkdir -p "$build/fuzz-artifacts"
# The largest input each target generates (seeds above it are cut to it).
declare -A max_len=([gguf]=131072 [gguf_model]=131072 [tokenizer_json]=131072
                    [spm_model]=262144 [chat_template]=16384 [tokenizer_encode]=4096
                    [safetensors_hf]=16384 [session_state]=65536)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz_$t
  corpus=$build/fuzz-corpus/$t
  mkdir -p "$corpus" "$seeds/$t"
  if [ "$t" = session_state ]; then
    # Saved states of the stories260K model (they need its fingerprint), written by the target.
    FATHOM_FUZZ_WRITE_SEEDS=$seeds/$t "$bin" -runs=0 "$seeds/$t" >/dev/null 2>&1
  fi
  echo "== fuzz_$t: ${secs}s"
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=30 \
    -max_len="${max_len[$t]:-65536}" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" ${FATHOM_FUZZ_FLAGS:-} "$corpus" "$seeds/$t" \
    2>&1 | grep -E "^(#[0-9]+ +(INITED|DONE)|stat::|==[0-9]+==|SUMMARY|INFO: Seed)|Test unit written" || true
  # crash-, leak-, oom-, timeout- are findings; slow-unit- (over 10 s) only a note.
  if ls "$build/fuzz-artifacts/$t-"{crash,leak,oom,timeout}-* >/dev/null 2>&1; then
    echo "fuzz_$t found a problem: $(ls "$build/fuzz-artifacts/$t-"{crash,leak,oom,timeout}-* 2>/dev/null)" >&2
    exit 1
  fi
done
