/**
 * Progress for long work (loads, long analyses): a `cli-progress` bar on stderr in a terminal
 * (fraction, bytes and rows when the caller knows them, ETA, elapsed time), a line every few
 * seconds in a notebook, nothing when stderr is not a terminal (pipes, CI, files), and nothing at
 * all for work that ends within `delayMs` (two seconds by default).
 */
import { Format, SingleBar } from "cli-progress";

/** What a caller may know beyond the fraction: shown next to the bar. */
export interface ProgressDetail {
  /** Bytes read so far, and of how many (the file size). */
  bytes?: number;
  totalBytes?: number;
  /** Records or rows handled so far. */
  rows?: number;
  /** What is being done now, within the labelled work (e.g. the report's section). */
  stage?: string;
}

export interface ProgressSink {
  /** `fraction` in [0, 1], or null when the total is unknown (gzip, a query without estimate). */
  update(label: string, fraction: number | null, detail?: ProgressDetail): void;
  done(): void;
}

/** `true`: a bar on stderr even when it is not a terminal; `"auto"`: only in a terminal or notebook. */
export type ProgressOption = boolean | "auto" | ProgressSink;

/** True inside a Jupyter kernel (tslab), where stdout is a notebook output. */
export function inNotebook(): boolean {
  return Boolean(process.env.JPY_PARENT_PID || process.env.JPY_SESSION_NAME || process.argv.some((a) => /tslab/.test(a)));
}

/** 1536 -> "1.5 KB" (decimal units, as `ls -h --si`). */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The text after the bar: bytes and rows, when known. */
export function detailText(d: ProgressDetail | undefined): string {
  if (!d) return "";
  const parts: string[] = [];
  if (d.bytes !== undefined) parts.push(d.totalBytes !== undefined ? `${formatBytes(d.bytes)} / ${formatBytes(d.totalBytes)}` : formatBytes(d.bytes));
  if (d.rows !== undefined) parts.push(`${d.rows.toLocaleString("en-US")} rows`);
  if (d.stage !== undefined) parts.push(d.stage);
  return parts.length ? ` | ${parts.join(", ")}` : "";
}

const STEPS = 1000;
const KNOWN = "{label} |{bar}| {percentage}%{detail} | ETA {eta_formatted} | {duration_formatted}";
const UNKNOWN = "{label}{detail} | {duration_formatted} elapsed";

/** A `cli-progress` bar: one per label (a new label, e.g. the next file, starts a new bar). */
class BarProgress implements ProgressSink {
  private start = Date.now();
  private bar: SingleBar | null = null;
  private label = "";
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly delayMs: number,
    private readonly tty: boolean,
  ) {}
  update(label: string, fraction: number | null, detail?: ProgressDetail): void {
    if (Date.now() - this.start < this.delayMs) return;
    const known = fraction !== null && Number.isFinite(fraction);
    const value = known ? Math.round(Math.max(0, Math.min(1, fraction as number)) * STEPS) : 0;
    const payload = { label, detail: detailText(detail), known };
    if (this.bar && label !== this.label) this.stopBar();
    if (!this.bar) {
      this.bar = new SingleBar({
        stream: this.stream,
        format: (options, params, p) => Format.Formatter({ ...options, format: (p as { known: boolean }).known ? KNOWN : UNKNOWN }, params, p),
        barsize: 24,
        barCompleteChar: "#",
        barIncompleteChar: "-",
        hideCursor: false,
        clearOnComplete: false,
        stopOnComplete: false,
        linewrap: false,
        fps: 10,
        etaBuffer: 50,
        noTTYOutput: !this.tty,
        notTTYSchedule: 5000,
      });
      this.bar.start(STEPS, value, payload);
      this.label = label;
    } else this.bar.update(value, payload);
  }
  private stopBar(): void {
    this.bar?.stop();
    this.bar = null;
  }
  done(): void {
    this.stopBar();
  }
}

const silent: ProgressSink = { update() {}, done() {} };

/**
 * Resolves a `progress` option. `"auto"` (the CLI's default): a bar on stderr when stderr is a
 * terminal, a line every 5 s on stdout in a notebook, else nothing. `true`: a bar on stderr even
 * when it is not a terminal (plain lines, every 5 s). `false`: nothing. A sink object is used as is.
 */
export function progressSink(option: ProgressOption | undefined, delayMs = 2000): ProgressSink {
  if (option === false) return silent;
  if (typeof option === "object") return option;
  if (inNotebook()) return new BarProgress(process.stdout, delayMs, false);
  if (process.stderr.isTTY) return new BarProgress(process.stderr, delayMs, true);
  if (option === true) return new BarProgress(process.stderr, delayMs, false);
  return silent;
}
