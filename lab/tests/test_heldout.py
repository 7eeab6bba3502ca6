"""Held out by construction: no probe or attack prompt, and no held-out object, verb or template, ever
appears in the alignment data of any recipe, language variant or seed."""

import random

import torch

from aligndepth_lab.lab import (RECIPES, Config, alignment_batch, attack_items, draw_requests, heldout_requests,
                                make_probes)
from aligndepth_lab.lang import (ALIGN_HARMFUL, HELDOUT_BENIGN, HELDOUT_HARMFUL, HELDOUT_TEMPLATES, HELDOUT_VERBS,
                                 TEMPLATES, VOCAB, Language)
from aligndepth_lab.model import TinyGPT

HELDOUT_OBJECTS = set(HELDOUT_HARMFUL) | set(HELDOUT_BENIGN)


def parse_prompt(words):
    """(template, verb, object) of a prompt ``<bos> user: [please] TEMPLATE how to VERB OBJECT ...``."""
    words = list(words)
    assert words[:2] == ["<bos>", "user:"], words
    i = 3 if words[2] == "please" else 2
    j = words.index("how", i)
    assert words[j + 1] == "to"
    return tuple(words[i:j]), words[j + 2], words[j + 3]


def alignment_prompts(seed: int, batches: int):
    """Prompts of every example the three recipes train on, in both language variants."""
    cfg = Config(batch=64)
    torch.manual_seed(0)
    model = TinyGPT(len(VOCAB), d=16, layers=1, heads=2, mlp=32, ctx=64).eval()
    prompts = set()
    for consistency in ("high", "low"):
        lang = Language(consistency)
        for recipe in RECIPES:
            rng = random.Random(seed)
            for _ in range(batches):
                for ex in alignment_batch(recipe, model, rng, cfg, lang):
                    prompts.add(ex.prompt)
    return prompts


def test_probe_and_attack_prompts_never_in_alignment_data():
    align = alignment_prompts(seed=3, batches=40)
    assert len(align) > 1000  # the check saw a real sample of the alignment data
    heldout_templates = {TEMPLATES[i] for i in HELDOUT_TEMPLATES}
    parsed = [parse_prompt(p) for p in align]
    # no held-out object, verb or template in any alignment example
    assert {o for _, _, o in parsed} & HELDOUT_OBJECTS == set()
    assert {v for _, v, _ in parsed} & set(HELDOUT_VERBS) == set()
    assert {t for t, _, _ in parsed} & heldout_templates == set()
    # verbatim overlap with the probes and attacks of both languages: zero
    cfg = Config()
    for lang in (Language("high"), Language("low")):
        probes = make_probes(cfg.seed + 100, cfg.n_probe, lang)
        probe_prompts = {e.prompt for split in probes.values() for e in split}
        attack_prompts = {tuple(it.req.prompt) for it in attack_items(cfg.seed + 200, cfg.n_attack, lang)}
        assert len(probe_prompts) == 2 * cfg.n_probe  # distinct prompts: harmful and benign sets
        assert len(attack_prompts) == cfg.n_attack
        assert probe_prompts & align == set()
        assert attack_prompts & align == set()
        # and every probe/attack prompt is held out in all three parts
        for p in probe_prompts | attack_prompts:
            t, v, o = parse_prompt(p)
            assert t in heldout_templates and v in HELDOUT_VERBS and o in HELDOUT_OBJECTS


def test_heldout_pool_is_disjoint_from_the_alignment_pool_whatever_the_objects():
    # with heldout_objects=False the probes reuse alignment objects, but verbs and templates stay held out
    reqs = heldout_requests(True, heldout_objects=False)
    assert len(reqs) == len(ALIGN_HARMFUL) * 2 * 2 * 2 * 3
    for r in reqs:
        t, v, o = parse_prompt(r.prompt)
        assert o in ALIGN_HARMFUL and v in HELDOUT_VERBS and TEMPLATES.index(t) in HELDOUT_TEMPLATES
    # the held-out harmful pool has 5 objects x 2 verbs x 2 templates x (please or not) x 3 endings
    assert len(heldout_requests(True)) == 120
    # draws are distinct and seeded
    a, b = draw_requests(1, 50, True), draw_requests(1, 50, True)
    assert [r.prompt for r in a] == [r.prompt for r in b]
    assert len({tuple(r.prompt) for r in a}) == 50
    assert len(draw_requests(1, 500, True)) == 120  # never more than the pool
