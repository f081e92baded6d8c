#!/usr/bin/env python3
"""Tests of the Python binding (fathom.py) on stories260K: generation as an iterator (same text as
the C ABI's greedy tokens), leaving the loop early, sampler options, stop strings, reasoning
separation, session state, prefix reuse, and chat through a chat template (stories260K has none:
the test writes a copy of the GGUF with one added).
Usage: test_fathom.py MODEL.gguf (FATHOM_LIBRARY names the shared library)."""

import json
import os
import struct
import sys
import tempfile
import unittest

import fathom

MODEL = None
PROMPT_IDS = [1, 403, 407, 261, 378]  # "Once upon a time" with BOS
# llama.cpp's greedy continuation (fixtures/stories260K/expected.json).
EXPECTED_TEXT = ", there was a little girl"


def copy_gguf_with_chat_template(src, dst, template):
    """Writes `src` to `dst` with one more metadata entry, tokenizer.chat_template = template.
    GGUF: magic, version, tensor count, KV count, KVs, tensor infos, padding to the alignment,
    tensor data (offsets relative to its start, so it is copied unchanged)."""
    with open(src, "rb") as f:
        data = f.read()
    magic, version, n_tensors, n_kv = struct.unpack_from("<4sIQQ", data, 0)
    assert magic == b"GGUF" and version >= 2
    pos = 24
    scalar = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    alignment = 32

    def skip_string(p):
        (n,) = struct.unpack_from("<Q", data, p)
        return p + 8 + n

    def skip_value(p, kind):
        if kind in scalar:
            return p + scalar[kind]
        if kind == 8:
            return skip_string(p)
        assert kind == 9
        item, count = struct.unpack_from("<IQ", data, p)
        p += 12
        for _ in range(count):
            p = skip_value(p, item)
        return p

    for _ in range(n_kv):
        key_end = skip_string(pos)
        key = data[pos + 8:key_end].decode()
        (kind,) = struct.unpack_from("<I", data, key_end)
        if key == "general.alignment":
            (alignment,) = struct.unpack_from("<I", data, key_end + 4)
        pos = skip_value(key_end + 4, kind)
    kv_end = pos
    for _ in range(n_tensors):
        pos = skip_string(pos)
        (n_dims,) = struct.unpack_from("<I", data, pos)
        pos += 4 + 8 * n_dims + 4 + 8
    infos_end = pos
    data_start = (infos_end + alignment - 1) // alignment * alignment

    def string(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    extra = string("tokenizer.chat_template") + struct.pack("<I", 8) + string(template)
    head = (struct.pack("<4sIQQ", magic, version, n_tensors, n_kv + 1) + data[24:kv_end] + extra +
            data[kv_end:infos_end])
    head += b"\0" * ((-len(head)) % alignment)
    with open(dst, "wb") as f:
        f.write(head + data[data_start:])


class BindingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = fathom.Model(MODEL)

    @classmethod
    def tearDownClass(cls):
        cls.model.close()

    def greedy(self, **options):
        options.setdefault("max_tokens", 8)
        options.setdefault("temperature", 0)
        return "".join(self.model.generate("Once upon a time", **options))

    def test_generate_is_an_iterator(self):
        pieces = list(self.model.generate("Once upon a time", max_tokens=8, temperature=0))
        self.assertGreater(len(pieces), 1)
        self.assertTrue(all(isinstance(p, fathom.Piece) and not p.reasoning for p in pieces))
        self.assertEqual("".join(pieces), EXPECTED_TEXT)
        self.assertEqual(self.model.tokenize("Once upon a time"), PROMPT_IDS)

    def test_leaving_the_loop_stops_the_generation(self):
        with self.model.session() as session:
            for i, _ in enumerate(session.generate(PROMPT_IDS, max_tokens=100, temperature=0,
                                                   stop_at_eog=False)):
                if i == 2:
                    break
            self.assertLess(session.position, 5 + 10)
            # The session is usable afterwards.
            session.reset()
            self.assertEqual("".join(session.generate(PROMPT_IDS, max_tokens=8, temperature=0)),
                             EXPECTED_TEXT)
            self.assertEqual(session.stop_reason, fathom.STOP_MAX_TOKENS)
            self.assertEqual(len(session.generated), 8)

    def test_sampler_options(self):
        with self.model.session() as session:
            banned = "".join(session.generate(PROMPT_IDS, max_tokens=8, temperature=0,
                                              logit_bias={432: float("-inf")}))  # 432: ","
            self.assertNotEqual(session.generated[0], 432)
            self.assertNotEqual(banned, EXPECTED_TEXT)
        self.assertEqual(self.greedy(sampler_order=["temperature", "top_k"], min_p=0.1,
                                     typical_p=0.9), EXPECTED_TEXT)
        self.assertNotEqual(self.greedy(presence_penalty=100.0, penalty_last_n=-1), EXPECTED_TEXT)
        with self.assertRaises(fathom.Error) as e:
            self.greedy(logit_bias={100000: 1.0})
        self.assertEqual(e.exception.code, 3)
        sampled = [self.greedy(temperature=1.0, seed=5) for _ in range(2)]
        self.assertEqual(sampled[0], sampled[1])

    def test_stop_strings(self):
        with self.model.session() as session:
            text = "".join(session.generate(PROMPT_IDS, max_tokens=8, temperature=0,
                                            stop=[" little", "nowhere"]))
            self.assertEqual(text, ", there was a")
            self.assertEqual(session.stop_reason, fathom.STOP_STRING)

    def test_reasoning(self):
        pieces = list(self.model.generate("Once upon a time", max_tokens=8, temperature=0,
                                          reasoning=fathom.REASONING_SPLIT,
                                          reasoning_tags=("there", "little")))
        self.assertEqual("".join(p for p in pieces if p.reasoning), " was a ")
        self.assertEqual("".join(p for p in pieces if not p.reasoning), ",  girl")
        # An R1-style prompt that opens the block: everything is reasoning.
        pieces = list(self.model.generate("Once upon a time<think>\n", max_tokens=8,
                                          temperature=0, reasoning=fathom.REASONING_SPLIT))
        self.assertTrue(pieces and all(p.reasoning for p in pieces))

    def test_state_and_prefix_reuse(self):
        with self.model.session() as a, self.model.session() as b:
            a.evaluate(PROMPT_IDS)
            self.assertEqual(a.n_evaluated, 5)
            a.evaluate(PROMPT_IDS + [432], reuse_prefix=True)
            self.assertEqual(a.n_evaluated, 6)
            self.assertEqual(a.tokens, PROMPT_IDS + [432])
            self.assertGreaterEqual(a.memory_bytes, a.kv_cache_bytes)
            image = a.save_state()
            b.load_state(image)
            self.assertEqual(b.tokens, PROMPT_IDS + [432])
            self.assertEqual("".join(b.generate([], max_tokens=7, temperature=0)),
                             EXPECTED_TEXT[1:])
            with self.assertRaises(fathom.Error) as e:
                b.load_state(image[:len(image) // 2])
            self.assertEqual(e.exception.code, 15)  # DATA_LOSS
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "s.state")
                a.save_state_file(path)
                b.reset()
                b.load_state_file(path)
                self.assertEqual(b.position, 6)

    def test_chat_with_the_template(self):
        with self.assertRaises(fathom.Error) as e:
            self.model.apply_chat_template([{"role": "user", "content": "Hi"}])
        self.assertEqual(e.exception.code, 9)  # FAILED_PRECONDITION: no template
        template = ("{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}"
                    "{{ m['content'] }}{% endif %}{% endfor %}")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "chat.gguf")
            copy_gguf_with_chat_template(MODEL, path, template)
            with fathom.Model(path) as model:
                self.assertEqual(model.chat_template, template)
                messages = [{"role": "system", "content": "ignored"},
                            {"role": "user", "content": "Once upon a time"}]
                self.assertEqual(model.apply_chat_template(messages), "<s>Once upon a time")
                reply = "".join(model.chat(messages, max_tokens=8, temperature=0))
                self.assertEqual(reply, EXPECTED_TEXT)

    def test_chat_template_variables(self):
        """Qwen3's template through fathom_chat_apply_template_ex, with template_kwargs such as
        enable_thinking, against transformers' renders (fixtures/tokenizers/qwen3)."""
        fixtures = os.environ.get("FATHOM_FIXTURES") or os.path.dirname(os.path.dirname(MODEL))
        cases_path = os.path.join(fixtures, "tokenizers", "qwen3", "chat_cases.json")
        if not os.path.exists(cases_path):
            self.skipTest("missing fixture " + cases_path)
        with open(cases_path, encoding="utf-8") as f:
            cases = json.load(f)
        with open(os.path.join(fixtures, "tokenizers", "qwen3", "tokenizer_config.json"),
                  encoding="utf-8") as f:
            template = json.load(f)["chat_template"]
        eos = cases["special_tokens_map"]["eos_token"]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "qwen3-template.gguf")
            copy_gguf_with_chat_template(MODEL, path, template)
            with fathom.Model(path) as model:
                thinking_cases = 0
                for case in cases["cases"]:
                    kwargs = case["template_kwargs"]
                    thinking_cases += "enable_thinking" in kwargs
                    rendered = model.apply_chat_template(
                        case["messages"], add_generation_prompt=case["add_generation_prompt"],
                        variables=kwargs, eos_token=eos)
                    self.assertEqual(rendered, case["rendered"], case["name"])
                self.assertGreater(thinking_cases, 0)
                with self.assertRaises(fathom.Error) as e:
                    model.apply_chat_template(cases["cases"][0]["messages"],
                                              variables={"messages": []})
                self.assertEqual(e.exception.code, 3)  # INVALID_ARGUMENT

    def test_detokenize_skip_special(self):
        ids = [1, 403, 407, 2]  # <s> Once upon </s>
        self.assertEqual(self.model.detokenize(ids, skip_special=True), " Once upon")
        self.assertEqual(self.model.detokenize(ids, skip_special=False), " Once upon")
        self.assertEqual(self.model.detokenize(ids[1:3]), " Once upon")


if __name__ == "__main__":
    if len(sys.argv) < 2 or not os.path.exists(sys.argv[1]):
        print("SKIP: usage: test_fathom.py MODEL.gguf (missing model)")
        sys.exit(0)
    MODEL = sys.argv.pop(1)
    unittest.main()
