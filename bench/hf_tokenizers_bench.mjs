// Hugging Face tokenizers (Rust, through its native Node binding @anush008/tokenizers) timed on
// the same corpus as bench/tokenizer_bench.cc, for docs/PERFORMANCE.md. Not run in CI.
//
//   npm install --prefix /tmp/hftok @anush008/tokenizers@0.6.0
//   FATHOM_BENCH_CORPUS=/tmp/corpus.txt build/bench/tokenizer_bench --benchmark_filter=Mixed/deepseek
//   NODE_PATH=/tmp/hftok/node_modules node bench/hf_tokenizers_bench.mjs /tmp/corpus.txt \
//       ../shared/fixtures/tokenizers [runs] [tokenizer ...]
//
// Prints one line per tokenizer: median MiB/s over `runs` encodes (after one warm-up) by process
// CPU time (user + system, all threads: comparable with Google Benchmark's CPU column on a loaded
// machine) with min and max, the median by wall time, and the token count (compare with the
// `tokens` counter of tokenizer_bench).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? process.cwd(), "x.js"));
const { Tokenizer } = require("@anush008/tokenizers");

const [corpusPath, fixtures, runsArg, ...names] = process.argv.slice(2);
if (!corpusPath || !fixtures) {
  console.error("usage: hf_tokenizers_bench.mjs CORPUS FIXTURES_TOKENIZERS_DIR [runs] [names]");
  process.exit(2);
}
const runs = Number(runsArg ?? 5);
const corpus = readFileSync(corpusPath, "utf8");
const bytes = Buffer.byteLength(corpus, "utf8");
const dirs = names.length ? names : ["deepseek-v3", "qwen3", "llama3", "mistral-7b-v0.1"];
// HF_BENCH_LINES=1: encode the corpus one line at a time (BM_EncodeMixedLines).
const lines = process.env.HF_BENCH_LINES ? corpus.split("\n").slice(0, -1) : null;
async function encodeAll(tok) {
  if (!lines) return (await tok.encode(corpus, null, { addSpecialTokens: false })).getIds().length;
  let n = 0;
  for (const line of lines) n += (await tok.encode(line, null, { addSpecialTokens: false })).getIds().length;
  return n;
}

for (const dir of dirs) {
  const tok = Tokenizer.fromFile(path.join(fixtures, dir, "tokenizer.json"));
  const tokens = await encodeAll(tok);
  const cpu = [], wall = [];
  for (let i = 0; i < runs; ++i) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await encodeAll(tok);
    const w = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    cpu.push(bytes / 1048576 / ((c.user + c.system) / 1e6));
    wall.push(bytes / 1048576 / w);
  }
  const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log(`${dir}\tHF${lines ? " lines" : ""}\tcpu ${median(cpu).toFixed(2)} MiB/s\tmin ${
      Math.min(...cpu).toFixed(2)}\tmax ${Math.max(...cpu).toFixed(2)}\twall ${
      median(wall).toFixed(2)} MiB/s\ttokens ${tokens}\tbytes ${bytes}`);
}
