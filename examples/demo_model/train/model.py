"""A small DeepSeek-V3 in PyTorch (training and reference forward for the demo model).

Semantics follow DeepSeek's official inference/model.py (which fathom implements): MLA with
q_lora and the decoupled RoPE key, RoPE on adjacent pairs (x[2i], x[2i+1]) with YaRN-corrected
frequencies and mscale^2 in the softmax scale, DeepSeekMoE with sigmoid scores, group-limited
top-k selected on bias-corrected scores (e_score_correction_bias, updated outside the gradient
by the auxiliary-loss-free rule), weights = unbiased scores renormalised then times
routed_scaling_factor, shared experts, and one MTP module wired as vLLM's deepseek_mtp.py
(enorm(embed(t+1)) zeroed at position 0, hnorm(final normed hidden), eh_proj, one block,
shared_head). Parameter names are those of the released Hugging Face checkpoints, so
state_dict() keys are the exported tensor names (see export.py for the MTP layer's copies of the
shared embedding and head).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_inv_freq(cfg):
    """Official precompute_freqs_cis: YaRN applies when max_position > original length."""
    dim = cfg["qk_rope_head_dim"]
    base = float(cfg["rope_theta"])
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("type") == "yarn" and \
            cfg["max_position_embeddings"] > rs["original_max_position_embeddings"]:
        orig = rs["original_max_position_embeddings"]
        factor = rs["factor"]

        def corr_dim(rot):
            return dim * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(base))

        low = max(math.floor(corr_dim(rs["beta_fast"])), 0)
        high = min(math.ceil(corr_dim(rs["beta_slow"])), dim - 1)
        if low == high:
            high += 0.001
        ramp = ((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
        freqs = freqs / factor * ramp + freqs * (1 - ramp)
    return freqs


def softmax_scale(cfg):
    scale = (cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]) ** -0.5
    rs = cfg.get("rope_scaling")
    if rs and rs.get("type") == "yarn" and \
            cfg["max_position_embeddings"] > rs["original_max_position_embeddings"]:
        m = 0.1 * rs["mscale_all_dim"] * math.log(rs["factor"]) + 1.0
        scale = scale * m * m
    return scale


def apply_rope(x, cos, sin):
    """x [..., s, heads, d]; rotates adjacent pairs; cos/sin [s, d/2]."""
    shp = x.shape
    x = x.reshape(*shp[:-1], shp[-1] // 2, 2)
    x0, x1 = x[..., 0], x[..., 1]
    c = cos[:, None, :]
    s = sin[:, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).reshape(shp)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.h = cfg["num_attention_heads"]
        self.nope = cfg["qk_nope_head_dim"]
        self.rope = cfg["qk_rope_head_dim"]
        self.vd = cfg["v_head_dim"]
        self.kv_rank = cfg["kv_lora_rank"]
        eps = cfg["rms_norm_eps"]
        self.q_a_proj = nn.Linear(d, cfg["q_lora_rank"], bias=False)
        self.q_a_layernorm = RMSNorm(cfg["q_lora_rank"], eps)
        self.q_b_proj = nn.Linear(cfg["q_lora_rank"], self.h * (self.nope + self.rope), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(d, self.kv_rank + self.rope, bias=False)
        self.kv_a_layernorm = RMSNorm(self.kv_rank, eps)
        self.kv_b_proj = nn.Linear(self.kv_rank, self.h * (self.nope + self.vd), bias=False)
        self.o_proj = nn.Linear(self.h * self.vd, d, bias=False)
        self.scale = softmax_scale(cfg)

    def forward(self, x, cos, sin):
        b, s, _ = x.shape
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(b, s, self.h, -1)
        q_nope, q_pe = q.split([self.nope, self.rope], dim=-1)
        q_pe = apply_rope(q_pe, cos, sin)
        kv = self.kv_a_proj_with_mqa(x)
        kv, k_pe = kv.split([self.kv_rank, self.rope], dim=-1)
        k_pe = apply_rope(k_pe.unsqueeze(2), cos, sin)
        kv = self.kv_b_proj(self.kv_a_layernorm(kv)).view(b, s, self.h, self.nope + self.vd)
        k_nope, v = kv.split([self.nope, self.vd], dim=-1)
        qf = torch.cat([q_nope, q_pe], dim=-1).transpose(1, 2)  # b h s d
        kf = torch.cat([k_nope, k_pe.expand(-1, -1, self.h, -1)], dim=-1).transpose(1, 2)
        att = torch.matmul(qf, kf.transpose(-1, -2)) * self.scale
        mask = torch.full((s, s), float("-inf"), device=x.device).triu_(1)
        att = F.softmax(att + mask, dim=-1)
        out = torch.matmul(att, v.transpose(1, 2)).transpose(1, 2).reshape(b, s, -1)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, d, inter):
        super().__init__()
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n = cfg["n_routed_experts"]
        self.k = cfg["num_experts_per_tok"]
        self.groups = cfg["n_group"]
        self.topk_groups = cfg["topk_group"]
        self.scale = cfg["routed_scaling_factor"]
        self.norm = cfg["norm_topk_prob"]
        self.weight = nn.Parameter(torch.empty(self.n, cfg["hidden_size"]))
        # Not trained by gradient: the auxiliary-loss-free balancing bias.
        self.register_buffer("e_score_correction_bias", torch.zeros(self.n))

    def forward(self, x):
        scores = F.linear(x, self.weight).sigmoid()
        original = scores
        sel = scores.detach() + self.e_score_correction_bias
        if self.groups > 1:
            g = sel.view(x.size(0), self.groups, -1)
            group_scores = g.topk(2, dim=-1)[0].sum(dim=-1)
            gidx = group_scores.topk(self.topk_groups, dim=-1)[1]
            mask = torch.ones(x.size(0), self.groups, dtype=torch.bool,
                              device=x.device).scatter_(1, gidx, False)
            sel = g.masked_fill(mask.unsqueeze(-1), float("-inf")).flatten(1)
        idx = sel.topk(self.k, dim=-1)[1]
        w = original.gather(1, idx)
        if self.norm:
            w = w / w.sum(dim=-1, keepdim=True)
        return w * self.scale, idx


class MoE(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["hidden_size"]
        self.gate = Gate(cfg)
        self.experts = nn.ModuleList(
            [MLP(d, cfg["moe_intermediate_size"]) for _ in range(cfg["n_routed_experts"])])
        self.shared_experts = MLP(d, cfg["moe_intermediate_size"] * cfg["n_shared_experts"])
        self.last_load = None  # tokens per expert in the last forward (for the bias update)

    def forward(self, x):
        shp = x.shape
        x = x.reshape(-1, shp[-1])
        w, idx = self.gate(x)
        y = torch.zeros_like(x)
        flat = idx.reshape(-1)
        self.last_load = torch.bincount(flat, minlength=len(self.experts)).float()
        order = torch.argsort(flat)
        counts = self.last_load.long().tolist()
        tok = order // idx.size(1)
        wt = w.reshape(-1)[order]
        start = 0
        for e, c in enumerate(counts):
            if c == 0:
                continue
            t = tok[start:start + c]
            y.index_add_(0, t, self.experts[e](x[t]) * wt[start:start + c, None])
            start += c
        return (y + self.shared_experts(x)).view(shp)


class Block(nn.Module):
    def __init__(self, cfg, layer_id):
        super().__init__()
        d = cfg["hidden_size"]
        eps = cfg["rms_norm_eps"]
        self.input_layernorm = RMSNorm(d, eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(d, eps)
        self.mlp = MLP(d, cfg["intermediate_size"]) if layer_id < cfg["first_k_dense_replace"] \
            else MoE(cfg)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class SharedHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class MtpLayer(Block):
    """DeepSeek-V3 MTP module (depth 1). Its embedding and output head are the main model's
    (shared, as in the V3 paper); export.py writes copies under the HF names."""

    def __init__(self, cfg, layer_id):
        super().__init__(cfg, layer_id)
        d = cfg["hidden_size"]
        self.enorm = RMSNorm(d, cfg["rms_norm_eps"])
        self.hnorm = RMSNorm(d, cfg["rms_norm_eps"])
        self.eh_proj = nn.Linear(2 * d, d, bias=False)
        self.shared_head = SharedHead(cfg)
        # Set by load_hf() only: the checkpoint's own copies (embed_tokens, shared_head.head).
        self.embed_tokens = None
        self.head = None


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        n = cfg["num_hidden_layers"]
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Block(cfg, i) for i in range(n)] +
                                    [MtpLayer(cfg, n) for _ in range(cfg["num_nextn_predict_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class DeepseekV3(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        self.lm_head = nn.Linear(cfg["hidden_size"], cfg["vocab_size"], bias=False)
        inv = rope_inv_freq(cfg)
        ang = torch.outer(torch.arange(cfg["max_position_embeddings"], dtype=torch.float64), inv)
        self.register_buffer("rope_cos", ang.cos().float(), persistent=False)
        self.register_buffer("rope_sin", ang.sin().float(), persistent=False)
        std = cfg["initializer_range"]
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, std)

    def moe_layers(self):
        return [m for m in self.modules() if isinstance(m, MoE)]

    def forward(self, tokens, mtp_tokens=None):
        """tokens [b, s] at positions 0..s-1. Returns main logits [b, s, V] and, when mtp_tokens
        (token p+1 for each row p) is given, MTP logits [b, s, V] (row p predicts token p+2)."""
        s = tokens.size(1)
        cos, sin = self.rope_cos[:s], self.rope_sin[:s]
        n = self.cfg["num_hidden_layers"]
        x = self.model.embed_tokens(tokens)
        for layer in self.model.layers[:n]:
            x = layer(x, cos, sin)
        h = self.model.norm(x)
        logits = self.lm_head(h)
        if mtp_tokens is None:
            return logits, None
        m = self.model.layers[n]
        emb = m.embed_tokens if m.embed_tokens is not None else self.model.embed_tokens
        head = m.head if m.head is not None else self.lm_head
        e = m.enorm(emb(mtp_tokens))
        e = torch.cat([torch.zeros_like(e[:, :1]), e[:, 1:]], dim=1)  # vLLM: zero at position 0
        y = m.eh_proj(torch.cat([e, m.hnorm(h)], dim=-1))
        y = m(y, cos, sin)
        return logits, head(m.shared_head.norm(y))
