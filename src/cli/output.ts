/** Where a command writes: JSON on stdout for `--json`, readable text otherwise. */
export interface Output {
  json(value: unknown): void;
  text(s: string): void;
  /** Notes for humans (skipped rows, warnings): stderr, so that --json stays parseable. */
  note(s: string): void;
}

/**
 * A reader that stops early (`aligndepth profile ... | head`) closes the pipe: the next write to
 * stdout fails with EPIPE, which Node raises as an uncaught 'error' event. That is not a failure of
 * the command: exit 0 at once, quietly, as Unix tools do. Other stream errors are left alone.
 */
export function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream = process.stdout, exit: (code: number) => void = (c) => process.exit(c)): void {
  const key = Symbol.for("aligndepth.closedPipeGuard");
  const s = stream as unknown as Record<symbol, boolean>;
  if (s[key]) return;
  s[key] = true;
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") exit(0);
    else throw err;
  });
}

export const stdio: Output = {
  json: (v) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
  text: (s) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`),
  note: (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
};

/** Says how many attack records were "not judged" (METRICS 2: out of n, counted); null when none. */
export function notJudgedNote(report: { notJudged: number; notJudgedValues: number[] }): string | null {
  const n = report.notJudged;
  return n > 0 ? `${n} record${n === 1 ? " was" : "s were"} not judged (score ${report.notJudgedValues.join(" or ")}): left out of n` : null;
}

/**
 * Describes the rows a skip mode left out, for stderr and report headers, and the load's own notes
 * (files of another kind left out, rows not scored, values dropped, metrics not measured everywhere).
 */
export function skippedNote(report: { records: number; recordsUsed: number; recordsSkipped: number; skipped: Record<string, number>; notes?: string[] }): string | null {
  const lines: string[] = [];
  if (report.recordsSkipped > 0) {
    const reasons = Object.entries(report.skipped).map(([k, v]) => `${v} ${k}`).join(", ");
    lines.push(`skipped ${report.recordsSkipped} of ${report.records} records (${reasons}); used ${report.recordsUsed}`);
  }
  lines.push(...(report.notes ?? []));
  return lines.length ? lines.join("\n") : null;
}
