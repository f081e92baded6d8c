#!/usr/bin/env node
// Tests of the Node binding (fathom.js, koffi) on stories260K: greedy text, stop strings, logit
// bias, sampler order, reasoning separation, session state and the chat template call.
// Usage: node test_fathom.js MODEL.gguf (FATHOM_LIBRARY names the shared library).
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const modelPath = process.argv[2];
if (!modelPath || !fs.existsSync(modelPath)) {
  console.log('SKIP: usage: node test_fathom.js MODEL.gguf (missing model)');
  process.exit(0);
}
let fathom;
try {
  fathom = require('./fathom');
} catch (e) {
  // koffi comes from example_node_test's `npm ci`; without npm that test skips, and so does this.
  if (e.code !== 'MODULE_NOT_FOUND' || process.env.CI === 'true') throw e;
  console.log(`SKIP: ${e.message.split('\n')[0]}`);
  process.exit(0);
}
const PROMPT = [1, 403, 407, 261, 378]; // "Once upon a time" with BOS
const EXPECTED = ', there was a little girl'; // llama.cpp's greedy continuation

const model = new fathom.Model(modelPath);
function run(options, tokens = PROMPT) {
  const session = new fathom.Session(model);
  const answer = [];
  const reasoning = [];
  try {
    const result = session.generate(tokens, {temperature: 0, max_tokens: 8, ...options},
                                    (text, isReasoning) => {
                                      (isReasoning ? reasoning : answer).push(text);
                                      return false;
                                    });
    return {...result, text: answer.join(''), reasoning: reasoning.join('')};
  } finally {
    session.close();
  }
}

const tests = {
  greedy() {
    const r = run({});
    assert.equal(r.text, EXPECTED);
    assert.equal(r.stopReason, fathom.STOP.MAX_TOKENS);
    assert.deepEqual(r.tokens, [432, 383, 286, 261, 376, 298, 315, 421]);
  },
  stopStrings() {
    const r = run({stop: ['nowhere', ' little']});
    assert.equal(r.text, ', there was a');
    assert.equal(r.stopReason, fathom.STOP.STRING);
  },
  samplerChain() {
    assert.notEqual(run({logitBias: {432: -Infinity}}).tokens[0], 432);
    assert.equal(run({samplerOrder: ['temperature', 'top_k'], min_p: 0.1}).text, EXPECTED);
    assert.notEqual(run({presence_penalty: 100, penalty_last_n: -1}).text, EXPECTED);
    assert.throws(() => run({samplerOrder: ['temperature'], logitBias: {4096: 1}}),
                  (e) => e.code === 3);
  },
  reasoning() {
    const r = run({reasoning: 'split', reasoningTags: ['there', 'little']});
    assert.equal(r.reasoning, ' was a ');
    assert.equal(r.text, ',  girl');
  },
  state() {
    const a = new fathom.Session(model);
    const b = new fathom.Session(model);
    try {
      a.generate(PROMPT, {temperature: 0, max_tokens: 4, evaluate_last: 1}, () => false);
      const image = a.saveState();
      b.loadState(image);
      assert.deepEqual(b.tokens, a.tokens);
      assert.equal(b.tokens.length, 9);
      let text = '';
      b.generate([], {temperature: 0, max_tokens: 4}, (t) => { text += t; return false; });
      assert.equal(text, ' little girl');
      assert.throws(() => b.loadState(image.subarray(0, 100)), (e) => e.code === 15);
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fathom-')), 's.state');
      a.saveStateFile(file);
      b.loadStateFile(file);
      assert.equal(b.tokens.length, 9);
      fs.rmSync(path.dirname(file), {recursive: true});
    } finally {
      a.close();
      b.close();
    }
  },
  chatTemplate() {
    // stories260K has no chat template: FAILED_PRECONDITION.
    assert.throws(() => model.applyChatTemplate([{role: 'user', content: 'Hi'}]),
                  (e) => e.code === 9);
  },
};

let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  try {
    test();
    console.log(`ok ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAILED ${name}: ${e.stack}`);
  }
}
model.close();
process.exit(failed ? 1 : 0);
