import { UsageError } from "../errors";
import { convertTokenLogs } from "../convert";
import { Format, Layout } from "../load/schema";
import { CommandSpec, Parsed } from "./args";
import { LOAD_OPTIONS, loadOptions } from "./common";
import { Output, skippedNote } from "./output";

export const convertSpec: CommandSpec = {
  name: "convert",
  summary: "Convert token logs between layouts (long, wide) and formats (jsonl, csv, parquet), losing nothing.",
  usage: "aligndepth convert FILES... --out OUT [--layout long|wide] [--format jsonl|parquet|csv] [--json]",
  minPositionals: 1,
  details:
    "Every row and value round-trips bit for bit. --layout and --format name the OUTPUT; use --in-layout and\n--in-format to force how the inputs are read. Wide records hold contiguous positions: gaps split a\n(run, step, example) into several records with offsets. CSV holds only the long layout.",
  options: [
    { name: "out", type: "string", help: "output file (required)" },
    { name: "layout", type: "string", choices: ["long", "wide"], default: "long", help: "output layout" },
    { name: "format", type: "string", choices: ["jsonl", "csv", "parquet"], help: "output format (default: from --out's name, else jsonl)" },
    { name: "in-format", type: "string", choices: ["jsonl", "csv", "parquet"], help: "force the format of every input file" },
    { name: "in-layout", type: "string", choices: ["long", "wide"], help: "force the layout of the inputs" },
    { name: "json", type: "flag", help: "print {\"out\", \"format\", \"layout\", \"records\", \"tokens\", \"skipped\"?}" },
    ...LOAD_OPTIONS.filter((o) => o.name !== "format" && o.name !== "layout"),
  ],
};

export async function convertCommand(p: Parsed, out: Output): Promise<number> {
  const o = p.options;
  if (typeof o.out !== "string" || o.out === "") throw new UsageError("convert: --out OUT is required");
  const lo = loadOptions({ ...o, format: o["in-format"], layout: o["in-layout"] });
  const r = await convertTokenLogs(p.positionals, { ...lo, out: o.out, toLayout: o.layout as Layout, toFormat: o.format as Format | undefined });
  const note = skippedNote(r.load);
  if (note) out.note(note);
  for (const w of r.warnings) out.note(`warning: ${w}`);
  if (o.json)
    out.json({ out: r.out, format: r.format, layout: r.layout, records: r.records, tokens: r.tokens, ...(r.load.recordsSkipped ? { skipped: { records: r.load.recordsSkipped, by_reason: r.load.skipped } } : {}), warnings: r.warnings });
  else out.text(`wrote ${r.out}: ${r.records} ${r.layout} records, ${r.tokens} token rows (${r.format})`);
  return 0;
}
