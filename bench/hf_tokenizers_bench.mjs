// Hugging Face tokenizers (Rust, through its native Node binding @anush008/tokenizers) timed on
// the same corpus as bench/tokenizer_bench.cc, for docs/PERFORMANCE.md. Not run in CI.
//
//   npm install --prefix /tmp/hftok @anush008/tokenizers@0.6.0
//   FATHOM_BENCH_CORPUS=/tmp/corpus.txt build/bench/tokenizer_bench --benchmark_filter=Mixed/deepseek
//   NODE_PATH=/tmp/hftok/node_modules node bench/hf_tokenizers_bench.mjs /tmp/corpus.txt \
//       ../shared/fixtures/tokenizers [runs] [tokenizer ...]
//
// Prints one line per tokenizer: median MB/s over `runs` encodes (after one warm-up), min, max,
// and the token count (compare with the `tokens` counter of tokenizer_bench).
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

for (const dir of dirs) {
  const tok = Tokenizer.fromFile(path.join(fixtures, dir, "tokenizer.json"));
  const first = await tok.encode(corpus, null, { addSpecialTokens: false });
  const tokens = first.getIds().length;
  const mbps = [];
  for (let i = 0; i < runs; ++i) {
    const t0 = process.hrtime.bigint();
    await tok.encode(corpus, null, { addSpecialTokens: false });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    mbps.push(bytes / 1048576 / s);
  }
  mbps.sort((a, b) => a - b);
  const median = mbps[Math.floor(mbps.length / 2)];
  console.log(`${dir}\tHF\t${median.toFixed(2)} MB/s\tmin ${mbps[0].toFixed(2)}\tmax ${
      mbps[mbps.length - 1].toFixed(2)}\ttokens ${tokens}\tbytes ${bytes}`);
}
