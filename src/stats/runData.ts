/**
 * The per-example data every update statistic is computed from, fetched once per analysis: for
 * each run, the paired differences (m_b - m_a) and starting values m_a by (example, position), and,
 * for a level share, the level metric's values at one checkpoint. Example ids share one numbering
 * across runs, so replicate runs and paired comparisons can draw the same example ids.
 *
 * Out of core: the pairs are never JS objects. The examples that can have a pair are numbered in
 * SQL text order in a temporary table (a scan of each run's first checkpoint only); the pairs then
 * stream in DuckDB chunks, sorted by (run, that number, position), straight into typed arrays, and
 * each example's block of rows moves to its place in the CSR layout of `ExampleTable` (about 20
 * bytes per pair: 10^9 token rows with 20M pairs take about 400 MB). One join of the two
 * checkpoints, one sort.
 */
import type { DuckDBDataChunk, DuckDBValue } from "@duckdb/node-api";
import { sqlIdent } from "../load/engine";
import type { TokenLogs } from "../load";
import { ExampleTable, examplesWithEntries } from "./exampleTable";
import { clampLevelValues } from "./levelShare";
import type { RunData } from "./runIntervals";
import { RowFilter, metricQuery } from "./source";
import { UpdateOptions, pairsSql } from "./updateProfile";

export interface LoadedRun {
  run: string;
  from: number;
  to: number;
  data: RunData;
  /** Token rows with the metric at the two steps. */
  tokens: number;
  /** Rows that entered the statistics: two per pair. */
  rowsUsed: number;
  /** Every value of the metric at both steps is >= 0 (the headroom reference needs it). */
  nonNegative: boolean;
  /** Sums of squared differences per position of the pair table (for se). */
  squares: Float64Array;
  /** Level share: the checkpoint used, values set to 0 as float noise, or why it was refused. */
  level?: { metric: string; step: number; clamped: number; refused: string | null; rows: number };
}

export interface RunDataOptions extends UpdateOptions {
  /** A non-negative metric whose level share (METRICS.md 3.5) is computed at `levelStep` (default each run's `to` step). */
  levelMetric?: string;
  levelStep?: number;
}

/**
 * Fetches the per-example data of every run (or `opts.runs`) for the rows `opts.where` selects.
 * Examples are numbered in order of first appearance over the runs in name order (within a run:
 * its pairs' examples in SQL text order, then examples only its level rows have), so that the
 * numbering, and with it every seeded bootstrap draw, does not depend on how the rows reach JS.
 * @returns runs in name order, and the example numbering they share.
 */
export async function loadRunData(logs: TokenLogs, opts: RunDataOptions = {}): Promise<{ runs: LoadedRun[]; index: Map<string, number> }> {
  // Each run's steps (a scan of every row's run and step) are found once and kept in a temporary
  // table that the queries below read instead of scanning again.
  const first = pairsSql(logs, opts);
  const boundsTable = `aligndepth_bounds_${process.pid}_${++tempTables}`;
  await logs.engine.run(`CREATE TEMP TABLE ${boundsTable} AS ${first.boundsSql} SELECT run, s_from, s_to FROM bounds`, first.params);
  try {
    return await loadWithBounds(logs, opts, boundsTable);
  } finally {
    await logs.engine.run(`DROP TABLE IF EXISTS ${boundsTable}`);
  }
}

let tempTables = 0;

async function loadWithBounds(logs: TokenLogs, opts: RunDataOptions, boundsTable: string): Promise<{ runs: LoadedRun[]; index: Map<string, number> }> {
  const q = pairsSql(logs, opts, boundsTable);
  const { sql, boundsSql, source, has } = q;
  const params = q.params as Record<string, DuckDBValue>; // named parameters (metricQuery)
  const m = sqlIdent(logs.metric(opts.metric ?? "loss"));
  // Token rows with the metric at the two steps (two equality joins: the step filters reach the scan).
  const at = (step: string, extra = "") => `SELECT x.run, count(*)::BIGINT AS n FROM ${source} x JOIN bounds b ON x.run = b.run AND x.step = b.${step} WHERE ${has(`x.${m}`)} ${extra} GROUP BY x.run`;
  const bounds = await logs.engine.rows<{ run: string; s_from: number; s_to: number; tokens: number }>(
    `${boundsSql}, nf AS (${at("s_from")}), nt AS (${at("s_to", "AND b.s_to <> b.s_from")})
     SELECT b.run, b.s_from, b.s_to, (COALESCE(nf.n, 0) + COALESCE(nt.n, 0))::BIGINT AS tokens
     FROM bounds b LEFT JOIN nf ON nf.run = b.run LEFT JOIN nt ON nt.run = b.run ORDER BY b.run`,
    params,
  );
  // The level rows (metric value at one checkpoint per run), as a query over `bounds`.
  let level: { sql: string; params: Record<string, DuckDBValue> } | null = null;
  if (opts.levelMetric !== undefined) {
    const lq = metricQuery(logs, { metric: opts.levelMetric, where: opts.where });
    if (opts.levelStep !== undefined) lq.params.level_step = opts.levelStep;
    const step = opts.levelStep !== undefined ? "CAST($level_step AS INTEGER)" : "b.s_to";
    level = {
      sql: `${boundsSql}, level AS (SELECT x.run, x.example, x."position", x.${lq.m} AS value, ${step} AS step FROM ${lq.source} x JOIN bounds b ON x.run = b.run AND x.step = ${step} WHERE ${lq.has(`x.${lq.m}`)})`,
      params: lq.params,
    };
  }

  // 1. Every example that can have a pair (a row at its run's first step) or a level value, in SQL
  //    text order: a temporary table (example -> s) the streams join to, and the texts in JS.
  const textTable = `aligndepth_examples_${process.pid}_${++tempTables}`;
  const firstRows = `SELECT DISTINCT CAST(x.example AS VARCHAR) AS example FROM ${source} x JOIN bounds b ON x.run = b.run AND x.step = b.s_from WHERE ${has(`x.${m}`)}`;
  await logs.engine.run(
    level
      ? `CREATE TEMP TABLE ${textTable} AS ${level.sql}, candidates AS (${firstRows} UNION SELECT DISTINCT CAST(example AS VARCHAR) FROM level)
         SELECT example, (row_number() OVER (ORDER BY example) - 1)::INTEGER AS s FROM candidates`
      : `CREATE TEMP TABLE ${textTable} AS ${boundsSql}, candidates AS (${firstRows}) SELECT example, (row_number() OVER (ORDER BY example) - 1)::INTEGER AS s FROM candidates`,
    level ? { ...params, ...level.params } : params,
  );
  try {
    const texts = (await logs.engine.columns(`SELECT example FROM ${textTable} ORDER BY s`)).example as string[];
    const runNumbers = `run_numbers AS (SELECT run, (row_number() OVER (ORDER BY run) - 1)::INTEGER AS r FROM bounds)`;
    // 2. The pairs (and level rows), streamed in (run, example text, position) order into typed arrays.
    const pairCols = await streamTables(
      logs,
      `${sql}, ${runNumbers}
       SELECT n.r, t.s, CAST(p."position" AS INTEGER) AS pos, CAST(p.diff AS DOUBLE) AS diff, CAST(p.va AS DOUBLE) AS va, CAST(p.vb AS DOUBLE) AS vb
       FROM pairs p JOIN run_numbers n ON n.run = p.run JOIN ${textTable} t ON t.example = CAST(p.example AS VARCHAR)
       ORDER BY n.r, t.s, pos`,
      params,
      bounds.length,
      texts.length,
      3,
    );
    const levelCols = level
      ? await streamTables(
          logs,
          `${level.sql}, ${runNumbers}
           SELECT n.r, t.s, CAST(l."position" AS INTEGER) AS pos, CAST(l.value AS DOUBLE) AS value, CAST(l.step AS DOUBLE) AS step
           FROM level l JOIN run_numbers n ON n.run = l.run JOIN ${textTable} t ON t.example = CAST(l.example AS VARCHAR)
           ORDER BY n.r, t.s, pos`,
          level.params,
          bounds.length,
          texts.length,
          2,
        )
      : null;
    // 3. Example numbers by first appearance: run by run, its pairs' examples (text order), then
    //    examples only its level rows have.
    const numberOf = new Int32Array(texts.length).fill(-1);
    const ids: string[] = [];
    for (let r = 0; r < bounds.length; r++)
      for (const t of [pairCols[r], levelCols?.[r]])
        if (t) for (const k of t.segmentText) if (numberOf[k] < 0) numberOf[k] = ids.push(texts[k]) - 1;
    const index = new Map(ids.map((id, e) => [id, e]));

    const out: LoadedRun[] = bounds.map((b, r) => {
      const t = pairCols[r];
      const { table: pairs, arrivalIndex } = tableOf(ids, numberOf, t, 2);
      // nonNegative: every va and vb of the run's pairs is >= 0 (vb is not kept).
      const nonNegative = t.nonNegativeFrom(1) && t.nonNegativeFrom(2);
      // Squares per position, summed in the rows' order by example text (as before).
      const squares = new Float64Array(pairs.positionValues.length);
      const diff = t.values[0];
      for (let j = 0; j < t.rows; j++) squares[arrivalIndex[j]] += diff[j] * diff[j];
      let levelTable: ExampleTable | null = null;
      let levelInfo: LoadedRun["level"];
      if (levelCols) {
        const lt = levelCols[r];
        const c = clampLevelValues(lt.values[0]);
        const step = lt.rows > 0 ? lt.values[1][0] : (opts.levelStep ?? b.s_to);
        levelInfo = { metric: opts.levelMetric!, step, clamped: c.clamped, refused: null, rows: lt.rows };
        if (c.refused) levelInfo.refused = `${c.refused.count} values of ${opts.levelMetric} are negative (down to ${c.refused.min}), below -1e-6 max|m|: not a non-negative metric, no level share`;
        else levelTable = tableOf(ids, numberOf, lt, 1).table;
      }
      const data: RunData = { pairs, level: levelTable, pool: new Int32Array(0) };
      data.pool = Int32Array.from(examplesWithEntries(pairs, ...(levelTable ? [levelTable] : [])));
      return { run: b.run, from: b.s_from, to: b.s_to, data, tokens: Number(b.tokens), rowsUsed: 2 * t.rows, nonNegative, squares, level: levelInfo };
    });
    return { runs: out, index };
  } finally {
    await logs.engine.run(`DROP TABLE IF EXISTS ${textTable}`);
  }
}

/**
 * One run's streamed rows in arrival order (example text, then position): positions, value
 * columns, and the segments of consecutive rows of one example.
 */
interface RunColumns {
  rows: number;
  /** Positions (0-based; validated integers below 2^31). */
  positions: Int32Array;
  values: Float64Array[];
  /** Per segment: the example's index in text order; its rows are segmentStart[i] .. segmentStart[i + 1]. */
  segmentText: Int32Array;
  segmentStart: Int32Array;
  /** Whether every value of column c (including columns not kept) is >= 0. */
  nonNegativeFrom(c: number): boolean;
}

/**
 * Streams rows (r, s, position, value columns...) sorted by (r, s, position) into one RunColumns per
 * run number r (s: the example's index in text order). Columns past the first two of three are only
 * checked for negative values (the pairs' vb).
 */
async function streamTables(logs: TokenLogs, sql: string, params: Record<string, DuckDBValue>, runs: number, examples: number, valueCols: number): Promise<RunColumns[]> {
  const keep = valueCols === 3 ? 2 : valueCols;
  const grow = Array.from({ length: runs }, () => ({
    rows: 0,
    positions: new Int32Array(1024),
    values: Array.from({ length: keep }, () => new Float64Array(1024)),
    segText: [] as number[],
    segStart: [] as number[],
    last: -1,
    negative: new Array<boolean>(valueCols).fill(false),
  }));
  // No example can have a pair (or a level value): nothing to stream.
  if (examples > 0)
    await logs.engine.forEachChunk(sql, params, (chunk: DuckDBDataChunk) => {
      const n = chunk.rowCount;
      const rv = chunk.getColumnVector(0);
      const sv = chunk.getColumnVector(1);
      const pv = chunk.getColumnVector(2);
      const vv = Array.from({ length: valueCols }, (_, c) => chunk.getColumnVector(3 + c));
      for (let i = 0; i < n; i++) {
        const g = grow[rv.getItem(i) as number];
        const j = g.rows++;
        if (j === g.positions.length) {
          const p = new Int32Array(j * 2);
          p.set(g.positions);
          g.positions = p;
          g.values = g.values.map(enlarge);
        }
        const k = sv.getItem(i) as number;
        if (k !== g.last) {
          g.segText.push(k);
          g.segStart.push(j);
          g.last = k;
        }
        g.positions[j] = pv.getItem(i) as number;
        for (let c = 0; c < valueCols; c++) {
          const v = vv[c].getItem(i) as number;
          if (v < 0) g.negative[c] = true;
          if (c < keep) g.values[c][j] = v;
        }
      }
    });
  return grow.map((g) => ({
    rows: g.rows,
    // Views, not copies: a copy would double the memory of the largest arrays for a moment.
    positions: g.positions.subarray(0, g.rows),
    values: g.values.map((v) => v.subarray(0, g.rows)),
    segmentText: Int32Array.from(g.segText),
    segmentStart: Int32Array.from([...g.segStart, g.rows]),
    nonNegativeFrom: (c: number) => !g.negative[c],
  }));
}

function enlarge(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * The CSR table of one run's streamed rows over the shared numbering: each example's block of rows
 * moved to its number's place (rows within a block keep their position order). Also returns each
 * arrival row's position index.
 */
function tableOf(ids: string[], numberOf: Int32Array, t: RunColumns, columns: number): { table: ExampleTable; arrivalIndex: Int32Array } {
  const { positionValues, positionIndex: arrivalIndex } = indexPositions(t.positions);
  const offsets = new Int32Array(ids.length + 1);
  const segs = t.segmentText.length;
  for (let k = 0; k < segs; k++) offsets[numberOf[t.segmentText[k]] + 1] = t.segmentStart[k + 1] - t.segmentStart[k];
  for (let e = 0; e < ids.length; e++) offsets[e + 1] += offsets[e];
  const positionIndex = new Int32Array(t.rows);
  const cols = Array.from({ length: columns }, () => new Float64Array(t.rows));
  for (let k = 0; k < segs; k++) {
    const from = t.segmentStart[k];
    const to = t.segmentStart[k + 1];
    const at = offsets[numberOf[t.segmentText[k]]];
    positionIndex.set(arrivalIndex.subarray(from, to), at);
    for (let c = 0; c < columns; c++) cols[c].set(t.values[c].subarray(from, to), at);
  }
  return { table: { ids, offsets, positionIndex, positionValues, columns: cols }, arrivalIndex };
}

/**
 * Distinct positions (ascending) and each row's index into them. Integral positions within a span
 * of 2^22 (every real log) go through a lookup array; anything else through a Map.
 */
export function indexPositions(positions: ArrayLike<number>): { positionValues: number[]; positionIndex: Int32Array } {
  const n = positions.length;
  const positionIndex = new Int32Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  let integral = true;
  for (let j = 0; j < n; j++) {
    const p = positions[j];
    if (p < lo) lo = p;
    if (p > hi) hi = p;
    if (!Number.isInteger(p)) integral = false;
  }
  if (n > 0 && integral && hi - lo < 1 << 22) {
    const slot = new Int32Array(hi - lo + 1).fill(-1);
    for (let j = 0; j < n; j++) slot[positions[j] - lo] = 0;
    const positionValues: number[] = [];
    for (let k = 0; k < slot.length; k++) if (slot[k] === 0) slot[k] = positionValues.push(lo + k) - 1;
    for (let j = 0; j < n; j++) positionIndex[j] = slot[positions[j] - lo];
    return { positionValues, positionIndex };
  }
  const positionValues = [...new Set(Array.from(positions))].sort((a, b) => a - b);
  const at = new Map(positionValues.map((p, i) => [p, i]));
  for (let j = 0; j < n; j++) positionIndex[j] = at.get(positions[j])!;
  return { positionValues, positionIndex };
}

export type { RowFilter };
