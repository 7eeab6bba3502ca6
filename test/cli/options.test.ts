/** Shared option groups: one definition of --recipe-pattern, listed once by every command. */
import { describe, expect, it } from "vitest";
import { optionList, parseArgs } from "../../src/cli/args";
import { COLOR_OPTIONS, RECIPE_PATTERN_OPTION } from "../../src/cli/common";
import { STATISTICS_OPTIONS, summarySpec } from "../../src/cli/summary";
import { COMMANDS } from "../../src/cli/main";
import { run } from "./run";

describe("optionList", () => {
  it("lists an option two groups share once, and refuses two different definitions of one name", () => {
    const both = optionList(COLOR_OPTIONS, STATISTICS_OPTIONS);
    expect(both.filter((o) => o.name === "recipe-pattern")).toEqual([RECIPE_PATTERN_OPTION]);
    expect(both).toHaveLength(COLOR_OPTIONS.length + STATISTICS_OPTIONS.length - 1);
    expect(() => optionList(COLOR_OPTIONS, [{ ...RECIPE_PATTERN_OPTION }])).toThrow(/--recipe-pattern is defined twice/);
    const p = parseArgs({ ...summarySpec, options: both }, ["f.jsonl", "--recipe-pattern", "^(?<recipe>.+)-s\\d$"]);
    expect(p.options["recipe-pattern"]).toBe("^(?<recipe>.+)-s\\d$");
  });
  it("every command's options have distinct names; summary and report --help list --recipe-pattern once", async () => {
    await run(["--help"]); // registers the commands of cli/extra.ts
    expect(COMMANDS.length).toBeGreaterThan(6);
    for (const c of COMMANDS) {
      const names = c.spec.options.map((o) => o.name);
      expect(new Set(names).size, c.spec.name).toBe(names.length);
    }
    for (const command of ["summary", "report", "compare", "figure"]) {
      const h = await run([command, "--help"]);
      expect(h.code).toBe(0);
      expect(h.stdout.match(/^  --recipe-pattern VALUE/gm), command).toHaveLength(1);
    }
  });
});
