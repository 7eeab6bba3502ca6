/**
 * A small, deterministic set of report inputs, written at test time: two runs (one with a hostile
 * name), three checkpoints, refusal and benign probes in the wide layout with loss, kl and token
 * text (some tokens hostile HTML), one invalid line (for --skip-invalid), gradient logs that share
 * the keys, and attack results.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const HOSTILE_RUN = `</script><script>window.__pwned=2</script>`;
export const HOSTILE_TOKENS = [`<img src=x onerror="window.__pwned=1">`, `</script><script>window.__pwned=2</script>`, `"quoted' &amp;`];
export const RUNS = ["sft", HOSTILE_RUN];
export const STEPS = [0, 10, 20];

const WORDS = ["sorry", ",", "i", "cannot", "help", "with", "that", ".", "it", "could", "hurt", "people", "."];

/** Writes the fixture into `dir`; returns the paths. */
export function writeReportFixture(dir: string): { tokens: string; grad: string; attacks: string } {
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  const grad: string[] = [];
  RUNS.forEach((run, ri) => {
    for (const step of STEPS) {
      for (let e = 0; e < 4; e++) {
        for (const split of ["refusal", "benign"]) {
          const len = 10 + e;
          const t = step / 20;
          // Refusal loss falls, most at the first positions (run 0) or evenly (run 1).
          const loss = Array.from({ length: len }, (_, p) => {
            const base = 3 + 0.1 * ((p * 7 + e * 3) % 5);
            const drop = split === "refusal" ? (ri === 0 ? 2.5 * Math.exp(-p / 2) : 0.6) * t : 0.05 * t;
            return Number((base - drop).toFixed(5));
          });
          const kl = loss.map((_, p) => Number(((split === "refusal" ? (ri === 0 ? Math.exp(-p / 2) : 0.4) : 0.01) * t).toFixed(5)));
          const token = Array.from({ length: len }, (_, p) => (e === 0 && p < HOSTILE_TOKENS.length ? HOSTILE_TOKENS[p] : WORDS[p % WORDS.length]));
          const example = `${split}-${e}`;
          lines.push(JSON.stringify({ run, step, example, split, loss, kl, token }));
          if (step !== 10) grad.push(JSON.stringify({ run, step, example, split, loss, grad_norm: loss.map((l, p) => Number((5 + l * (ri + 1) - p * 0.1).toFixed(4))) }));
        }
      }
    }
  });
  lines.splice(7, 0, `{"run": "sft", "step": 0, "example": "broken", "loss": [1.0, NaN]}`);
  const attacks: string[] = [];
  RUNS.forEach((run, ri) => {
    for (const k of [0, 5, 10])
      for (let e = 0; e < 8; e++) attacks.push(JSON.stringify({ run, attack: "prefill", example: `p${e}`, k, harmful: (e * 3 + k) % 10 < k * (ri === 0 ? 0.9 : 0.4) }));
    for (const prefix_len of [0, 5])
      for (const span_len of [2, 4])
        for (let e = 0; e < 6; e++) attacks.push(JSON.stringify({ run, attack: "insertion", example: `q${e}`, prefix_len, span_len, harmful: (e + prefix_len + span_len + ri) % 4 === 0 }));
  });
  const paths = { tokens: join(dir, "tokens.jsonl"), grad: join(dir, "gradnorm.jsonl"), attacks: join(dir, "attacks.jsonl") };
  writeFileSync(paths.tokens, lines.join("\n") + "\n");
  writeFileSync(paths.grad, grad.join("\n") + "\n");
  writeFileSync(paths.attacks, attacks.join("\n") + "\n");
  return paths;
}
