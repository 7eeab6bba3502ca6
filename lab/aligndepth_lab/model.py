"""A tiny pre-LayerNorm causal transformer with left-padding support and a KV cache."""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

NEG = -1e9


class KVBuffer:
    """Preallocated key/value cache of one layer: appending writes in place (no copy of the past)."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor, extra: int):
        B, H, S, Dh = k.shape
        self.k = torch.empty(B, H, S + extra, Dh, dtype=k.dtype)
        self.v = torch.empty(B, H, S + extra, Dh, dtype=v.dtype)
        self.k[:, :, :S] = k
        self.v[:, :, :S] = v
        self.n = S

    def append(self, k, v):
        T = k.shape[2]
        self.k[:, :, self.n : self.n + T] = k
        self.v[:, :, self.n : self.n + T] = v
        self.n += T
        return self.k[:, :, : self.n], self.v[:, :, : self.n]


class Block(nn.Module):
    def __init__(self, d: int, heads: int, mlp: int):
        super().__init__()
        self.h = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, mlp)
        self.fc2 = nn.Linear(mlp, d)

    def forward(self, x, bias, cache: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
        shp = lambda t: t.view(B, T, self.h, D // self.h).transpose(1, 2)  # noqa: E731
        q, k, v = shp(q), shp(k), shp(v)
        if isinstance(cache, KVBuffer):
            k, v = cache.append(k, v)
        elif cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        scale = 1.0 / math.sqrt(D // self.h)
        if T == 1 and cache is not None:
            # one new token against a long cache: broadcasting beats many tiny batched matmuls
            att = (q * k).sum(-1).unsqueeze(2) * scale + bias  # [B, h, 1, S]
            y = (torch.softmax(att, dim=-1).transpose(-1, -2) * v).sum(2, keepdim=True)
        else:
            att = (q @ k.transpose(-1, -2)) * scale + bias
            y = torch.softmax(att, dim=-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, D))
        x = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return x, (k, v)


class TinyGPT(nn.Module):
    def __init__(self, vocab: int, d: int = 64, layers: int = 2, heads: int = 4, mlp: int = 256, ctx: int = 64):
        super().__init__()
        self.ctx = ctx
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList([Block(d, heads, mlp) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, ids: torch.Tensor, valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Logits ``[B, T, V]``.  ``valid`` (``[B, T]`` bool) marks real tokens for left-padded
        input; without it every token is real (right padding needs no mask in a causal model)."""
        logits, _ = self.forward_cached(ids, valid)
        return logits

    def forward_cached(self, ids, valid=None, cache=None, past_valid=None, pos=None):
        B, T = ids.shape
        if valid is None:
            valid = torch.ones(B, T, dtype=torch.bool)
        if pos is None:
            pos = (valid.long().cumsum(1) - 1).clamp_min(0)
        if cache is None:
            keys_valid = valid
            causal = torch.ones(T, T, dtype=torch.bool).tril()
            allowed = causal.unsqueeze(0) & keys_valid.unsqueeze(1)
        else:
            keys_valid = torch.cat([past_valid, valid], dim=1)
            P = past_valid.shape[1]
            causal = torch.ones(T, P + T, dtype=torch.bool).tril(diagonal=P)
            allowed = causal.unsqueeze(0) & keys_valid.unsqueeze(1)
        # a position may always see itself (keeps padded rows finite)
        S = allowed.shape[-1]
        eye = torch.zeros(T, S, dtype=torch.bool)
        eye[torch.arange(T), torch.arange(S - T, S)] = True
        allowed = allowed | eye.unsqueeze(0)
        bias = torch.zeros(allowed.shape).masked_fill(~allowed, NEG).unsqueeze(1)
        x = self.tok(ids) + self.pos(pos)
        new_cache = []
        for i, blk in enumerate(self.blocks):
            x, kv = blk(x, bias, None if cache is None else cache[i])
            new_cache.append(cache[i] if isinstance(cache[i] if cache is not None else None, KVBuffer) else kv)
        return self.head(self.ln(x)), (new_cache, keys_valid, pos[:, -1])


def pad_right(seqs: Sequence[Sequence[int]], pad: int) -> torch.Tensor:
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), pad, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(list(s), dtype=torch.long)
    return out


@torch.no_grad()
def greedy_generate(model: TinyGPT, prompts: Sequence[Sequence[int]], max_new: int, eos: int, pad: int,
                    batch: int = 1024) -> List[List[int]]:
    """Greedy (argmax) continuation of each prompt, up to ``max_new`` tokens or <eos> (included)."""
    out: List[List[int]] = []
    for s in range(0, len(prompts), batch):
        chunk = prompts[s : s + batch]
        T = max(len(p) for p in chunk)
        if T + max_new > model.ctx:
            raise ValueError(f"prompt {T} + {max_new} new tokens exceed the context {model.ctx}")
        ids = torch.full((len(chunk), T), pad, dtype=torch.long)
        valid = torch.zeros(len(chunk), T, dtype=torch.bool)
        for i, p in enumerate(chunk):
            ids[i, T - len(p):] = torch.tensor(list(p), dtype=torch.long)
            valid[i, T - len(p):] = True
        logits, (cache, keys_valid, last_pos) = model.forward_cached(ids, valid)
        done = torch.zeros(len(chunk), dtype=torch.bool)
        gen = []
        nxt = logits[:, -1].argmax(-1)
        for t in range(max_new):
            nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
            gen.append(nxt)
            done = done | (nxt == eos)
            if bool(done.all()) or t == max_new - 1:
                break
            step_valid = torch.ones(len(chunk), 1, dtype=torch.bool)
            last_pos = last_pos + 1
            logits, (cache, keys_valid, last_pos) = model.forward_cached(
                nxt.unsqueeze(1), step_valid, cache=cache, past_valid=keys_valid, pos=last_pos.unsqueeze(1))
            nxt = logits[:, -1].argmax(-1)
        G = torch.stack(gen, 1)
        for i in range(len(chunk)):
            row = []
            for t in G[i].tolist():
                if t == pad:
                    break
                row.append(t)
                if t == eos:
                    break
            out.append(row)
    return out


# ----------------------------------------------------------------------------------------------
# shared-prefix decoding (many continuations of truncations of one cached sequence)
# ----------------------------------------------------------------------------------------------


@torch.no_grad()
def encode_left_padded(model: TinyGPT, seqs: Sequence[Sequence[int]], pad: int):
    """Run left-padded sequences; returns (logits [B,T,V], cache, valid [B,T], pos [B,T])."""
    T = max(len(p) for p in seqs)
    ids = torch.full((len(seqs), T), pad, dtype=torch.long)
    valid = torch.zeros(len(seqs), T, dtype=torch.bool)
    for i, p in enumerate(seqs):
        ids[i, T - len(p):] = torch.tensor(list(p), dtype=torch.long)
        valid[i, T - len(p):] = True
    pos = (valid.long().cumsum(1) - 1).clamp_min(0)
    logits, (cache, keys_valid, _) = model.forward_cached(ids, valid, pos=pos)
    return logits, cache, keys_valid, pos


def take_prefix(cache, valid, rows: torch.Tensor, lengths: torch.Tensor):
    """For each output row i: the first ``lengths[i]`` cached columns of input row ``rows[i]``,
    right-aligned (left-padded with invalid slots) so that rows of different lengths stack."""
    L = int(lengths.max())
    j = torch.arange(L).unsqueeze(0)  # [1, L]
    shift = (L - lengths).unsqueeze(1)  # [R, 1]
    src = (j - shift).clamp_min(0)  # [R, L] source column
    ok = j >= shift
    new_valid = valid[rows].gather(1, src) & ok
    new_cache = []
    for k, v in cache:
        k, v = k[rows], v[rows]  # [R, h, S, dh]
        idx = src.unsqueeze(1).unsqueeze(-1).expand(-1, k.shape[1], -1, k.shape[-1])
        new_cache.append((k.gather(2, idx), v.gather(2, idx)))
    return new_cache, new_valid


@torch.no_grad()
def extend(model: TinyGPT, cache, valid, last_pos: torch.Tensor, tokens: torch.Tensor):
    """Feed ``tokens`` [B, n] after the cached columns; returns (logits [B,n,V], cache, valid, last_pos)."""
    n = tokens.shape[1]
    pos = last_pos.unsqueeze(1) + 1 + torch.arange(n).unsqueeze(0)
    logits, (cache, valid, _) = model.forward_cached(tokens, torch.ones(tokens.shape, dtype=torch.bool),
                                                     cache=cache, past_valid=valid, pos=pos)
    return logits, cache, valid, pos[:, -1]


@torch.no_grad()
def greedy_continue(model: TinyGPT, cache, valid, last_pos, first_logits, max_new: int, eos: int,
                    pad: int, generator: Optional[torch.Generator] = None,
                    temperature: float = 1.0) -> List[List[int]]:
    """Continuation given a cache and the logits that predict the first new token: greedy (argmax)
    without ``generator``; with one, sampled at ``temperature`` from the softmax, drawing from
    ``generator`` (seeded by the caller: same seed, same rows in the same order, same samples)."""
    B = first_logits.shape[0]
    cache = [KVBuffer(k, v, max_new) for k, v in cache]
    done = torch.zeros(B, dtype=torch.bool)

    def pick(lg):
        if generator is None:
            return lg.argmax(-1)
        probs = torch.softmax(lg.double() / temperature, -1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(1)

    nxt = pick(first_logits)
    gen = []
    for t in range(max_new):
        nxt = torch.where(done, torch.full_like(nxt, pad), nxt)
        gen.append(nxt)
        done = done | (nxt == eos)
        if bool(done.all()) or t == max_new - 1:
            break
        logits, cache, valid, last_pos = extend(model, cache, valid, last_pos, nxt.unsqueeze(1))
        nxt = pick(logits[:, -1])
    G = torch.stack(gen, 1).tolist()
    out = []
    for row in G:
        r = []
        for t in row:
            if t == pad:
                break
            r.append(t)
            if t == eos:
                break
        out.append(r)
    return out
