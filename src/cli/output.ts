/** Where a command writes: JSON on stdout for `--json`, readable text otherwise. */
export interface Output {
  json(value: unknown): void;
  text(s: string): void;
  /** Notes for humans (skipped rows, warnings): stderr, so that --json stays parseable. */
  note(s: string): void;
}

export const stdio: Output = {
  json: (v) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`),
  text: (s) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`),
  note: (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
};

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
