#!/usr/bin/env node
// Streams the greedy continuation of a prompt through fathom.js (koffi FFI).
// Usage: node generate.js MODEL.gguf [PROMPT] [N_TOKENS]; prints what `fathom run --temp 0` prints.
'use strict';

const fathom = require('./fathom');

const [modelPath, prompt = 'Once upon a time', nTokens = '64'] = process.argv.slice(2);
if (!modelPath) {
  console.error('usage: node generate.js MODEL.gguf [PROMPT] [N_TOKENS]');
  process.exit(2);
}
const model = new fathom.Model(modelPath);
try {
  model.generate(prompt, {temperature: 0, max_tokens: Number(nTokens)}, (text) => {
    process.stdout.write(text);
    return false; // true would stop the generation
  });
  process.stdout.write('\n');
} catch (e) {
  console.error(`error: ${e.message}`);
  process.exitCode = 1;
} finally {
  model.close();
}
