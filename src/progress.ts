/**
 * Progress for long work: a bar on stderr in a terminal, one updating line in a notebook, and
 * nothing at all for work that ends within `delayMs` (two seconds by default).
 */

export interface ProgressSink {
  /** `fraction` in [0, 1], or null when the total is unknown. */
  update(label: string, fraction: number | null): void;
  done(): void;
}

export type ProgressOption = boolean | "auto" | ProgressSink;

/** True inside a Jupyter kernel (tslab), where stdout is a notebook output. */
export function inNotebook(): boolean {
  return Boolean(process.env.JPY_PARENT_PID || process.env.JPY_SESSION_NAME || process.argv.some((a) => /tslab/.test(a)));
}

class LineProgress implements ProgressSink {
  private start = Date.now();
  private shown = false;
  private lastDraw = 0;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean,
    private readonly delayMs: number,
  ) {}
  update(label: string, fraction: number | null): void {
    const now = Date.now();
    if (now - this.start < this.delayMs) return;
    if (now - this.lastDraw < (this.tty ? 100 : 1000)) return;
    this.lastDraw = now;
    const secs = ((now - this.start) / 1000).toFixed(0);
    let text: string;
    if (fraction === null) text = `${label} ... ${secs}s`;
    else {
      const width = 24;
      const f = Math.max(0, Math.min(1, fraction));
      const fill = Math.round(f * width);
      text = `${label} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${(f * 100).toFixed(0)}% ${secs}s`;
    }
    this.out.write(`\r${text.padEnd(79)}`);
    this.shown = true;
  }
  done(): void {
    if (this.shown) this.out.write("\n");
    this.shown = false;
  }
}

const silent: ProgressSink = { update() {}, done() {} };

/** Resolves a `progress` option: `"auto"` shows a bar in a terminal and a line in a notebook. */
export function progressSink(option: ProgressOption | undefined, delayMs = 2000): ProgressSink {
  if (option === false) return silent;
  if (typeof option === "object") return option;
  if (inNotebook()) return new LineProgress(process.stdout, false, delayMs);
  if (process.stderr.isTTY || option === true) return new LineProgress(process.stderr, Boolean(process.stderr.isTTY), delayMs);
  return silent;
}
