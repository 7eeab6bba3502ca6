/**
 * A small, strict argument parser: every option is declared, unknown options and missing values are
 * usage errors (exit code 2), and `--help` prints the command's help.
 */
import { UsageError } from "../errors";

export interface OptionSpec {
  name: string;
  /** "flag" takes no value; "repeat" may be given many times. */
  type: "string" | "int" | "number" | "flag" | "repeat";
  help: string;
  default?: string | number | boolean;
  /** Allowed values for a string option. */
  choices?: string[];
  /** A string option that takes this many values (`--compare A B`): parsed as a string array. */
  nargs?: number;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  /** At least this many positional arguments. */
  minPositionals?: number;
  details?: string;
}

export interface Parsed {
  positionals: string[];
  options: Record<string, string | number | boolean | string[] | undefined>;
  help: boolean;
}

/**
 * The options of a command from shared groups (LOAD_OPTIONS, COLOR_OPTIONS, ...) and its own: an
 * option that two groups share (the same definition, e.g. `--recipe-pattern`) is listed once.
 * @throws Error when two different definitions share a name (a bug in the command's spec).
 */
export function optionList(...groups: Array<OptionSpec | readonly OptionSpec[]>): OptionSpec[] {
  const out: OptionSpec[] = [];
  for (const o of groups.flat()) {
    const seen = out.find((x) => x.name === o.name);
    if (!seen) out.push(o);
    else if (seen !== o) throw new Error(`option --${o.name} is defined twice`);
  }
  return out;
}

export function parseArgs(spec: CommandSpec, argv: string[]): Parsed {
  const options: Parsed["options"] = {};
  const positionals: string[] = [];
  let help = false;
  for (const o of spec.options) if (o.default !== undefined) options[o.name] = o.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === "--help" || a === "-h") {
      help = true;
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const o = spec.options.find((x) => x.name === name);
      if (!o) throw new UsageError(`${spec.name}: unknown option --${name} (see 'aligndepth ${spec.name} --help')`);
      if (o.type === "flag") {
        if (eq > 0) throw new UsageError(`${spec.name}: --${name} takes no value`);
        options[name] = true;
        continue;
      }
      if (o.nargs !== undefined && o.nargs > 1) {
        const vals = argv.slice(i + 1, i + 1 + o.nargs);
        if (eq > 0 || vals.length < o.nargs || vals.some((x) => x.startsWith("--"))) throw new UsageError(`${spec.name}: --${name} takes ${o.nargs} values (e.g. --${name} ${Array.from({ length: o.nargs }, (_, j) => String.fromCharCode(65 + j)).join(" ")})`);
        options[name] = vals;
        i += o.nargs;
        continue;
      }
      let v: string | undefined = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${spec.name}: --${name} needs a value`);
      if (o.type === "int") {
        if (!/^-?\d+$/.test(v)) throw new UsageError(`${spec.name}: --${name} takes a whole number, got ${JSON.stringify(v)}`);
        options[name] = Number(v);
      } else if (o.type === "number") {
        if (!Number.isFinite(Number(v)) || v.trim() === "") throw new UsageError(`${spec.name}: --${name} takes a number, got ${JSON.stringify(v)}`);
        options[name] = Number(v);
      } else if (o.type === "repeat") {
        options[name] = [...((options[name] as string[] | undefined) ?? []), v];
      } else {
        if (o.choices && !o.choices.includes(v)) throw new UsageError(`${spec.name}: --${name} takes one of ${o.choices.join(", ")}, got ${JSON.stringify(v)}`);
        options[name] = v;
      }
      v = undefined;
      continue;
    }
    positionals.push(a);
  }
  if (!help && positionals.length < (spec.minPositionals ?? 0))
    throw new UsageError(`${spec.name}: missing ${spec.minPositionals === 1 ? "input file" : "arguments"} (usage: ${spec.usage})`);
  return { positionals, options, help };
}

export function helpText(spec: CommandSpec): string {
  const lines = [`usage: ${spec.usage}`, "", spec.summary];
  if (spec.details) lines.push("", spec.details);
  if (spec.options.length) {
    lines.push("", "options:");
    const w = Math.max(...spec.options.map((o) => o.name.length + (o.type === "flag" ? 0 : 6)));
    for (const o of spec.options) {
      const flag = `--${o.name}${o.type === "flag" ? "" : o.nargs && o.nargs > 1 ? " A B".slice(0, 2 * o.nargs) : " VALUE"}`;
      const def = o.default !== undefined && o.type !== "flag" ? ` (default ${o.default})` : "";
      lines.push(`  ${flag.padEnd(w + 3)}  ${o.help}${def}`);
    }
  }
  lines.push(`  ${"--help".padEnd(Math.max(...spec.options.map((o) => o.name.length + 6), 6) + 3)}  show this help`);
  return lines.join("\n");
}
