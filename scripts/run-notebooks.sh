#!/usr/bin/env bash
# The main job: executes every notebook headless in the real tslab kernel (nbconvert's
# ExecutePreprocessor, scripts/execute_notebook.py) and exports it to HTML, then builds the report.
# Exits non-zero if any notebook fails: a cell error fails the run (--allow-errors is never used,
# because with it tslab silently skips the cells after an error).
#
#   bash scripts/run-notebooks.sh                  every notebooks/*.ipynb -> out/notebooks/
#   bash scripts/run-notebooks.sh A.ipynb B.ipynb  just these notebooks
#   options:  --out DIR     where executed copies (NAME.ipynb) and exports (NAME.html) go
#             --in-place    also write the executed notebooks back over the committed ones
#             --no-report   skip the report step
#   env:      NOTEBOOK_TIMEOUT  seconds per cell (default 900)
#
# Needs `bash scripts/setup.sh` first (Jupyter and the project-local tslab kernel).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/common.sh

OUT_DIR="out/notebooks"
IN_PLACE=0
REPORT=1
NOTEBOOKS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT_DIR="$2"; shift 2 ;;
    --in-place) IN_PLACE=1; shift ;;
    --no-report) REPORT=0; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "run-notebooks.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    *) NOTEBOOKS+=("$1"); shift ;;
  esac
done
if [ "${#NOTEBOOKS[@]}" = 0 ]; then
  shopt -s nullglob
  NOTEBOOKS=(notebooks/*.ipynb)
  shopt -u nullglob
fi

log() { echo "[notebooks] $*"; }
die() { echo "[notebooks] ERROR: $*" >&2; exit 1; }

JUPYTER_PYTHON="$(find_jupyter_python)" || die "Jupyter is not installed: run 'bash scripts/setup.sh' first."
kernel_registered || die "the tslab kernel is not registered in .jupyter-local/: run 'bash scripts/setup.sh' first."

# Notebooks import ../dist/index: rebuild when a source file is newer than the build.
build_if_stale && log "built the library (dist/ was missing or older than src/)" || [ $? = 2 ] || die "npm run build failed"

mkdir -p "$OUT_DIR"
TIMEOUT="${NOTEBOOK_TIMEOUT:-900}"
FAILED=()
for nb in "${NOTEBOOKS[@]}"; do
  [ -f "$nb" ] || die "no such notebook: $nb"
  name="$(basename "$nb" .ipynb)"
  executed="$OUT_DIR/$name.ipynb"
  log "executing $nb"
  start=$SECONDS
  rm -f "$OUT_DIR/$name.failed.ipynb"
  # nbconvert's ExecutePreprocessor, as `jupyter nbconvert --to notebook --execute` runs it, but a
  # failure prints the cell's stderr (where tslab writes errors) and keeps the partial run. The
  # kernel starts in the notebook's own directory, so `../dist/index` resolves from there.
  if "$JUPYTER_PYTHON" scripts/execute_notebook.py --kernel tslab --timeout "$TIMEOUT" "$nb" "$executed" &&
     jupyter_cmd nbconvert --to html --output-dir "$OUT_DIR" --output "$name" "$executed"; then
    log "ok: $nb in $((SECONDS - start)) s -> $executed, $OUT_DIR/$name.html"
    if [ "$IN_PLACE" = 1 ]; then cp "$executed" "$nb"; log "wrote the executed notebook back to $nb"; fi
  else
    log "FAILED: $nb (see the error above; partial run in $OUT_DIR/$name.failed.ipynb)"
    rm -f "$executed" "$OUT_DIR/$name.html"  # never leave a stale copy that looks like a success
    FAILED+=("$nb")
  fi
done

# >>> REPORT HOOK: the standalone HTML report (out/report.html), built by the CLI from the lab's
# logs when data/lab holds them (REPORT_DATA overrides the folder). The lab's alignment shows on
# the harmful-answer probes (data/README.md says why the refusal probes look alike), so the report
# analyses those (REPORT_WHERE overrides, e.g. split=refusal).
REPORT_DATA="${REPORT_DATA:-data/lab}"
REPORT_WHERE="${REPORT_WHERE:-split=harmful}"
if [ "$REPORT" = 1 ] && compgen -G "$REPORT_DATA/tokens-*.jsonl.gz" >/dev/null; then
  log "building the report from $REPORT_DATA -> out/report.html"
  # Replicate runs RECIPE[-ABLATION]-seedN: the report shows recipes (seed means, intervals over seeds).
  REPORT_ARGS=("$REPORT_DATA/tokens-*.jsonl.gz" --where "$REPORT_WHERE" --recipe-pattern '^(?<recipe>.+)-seed\d+$')
  [ -f "$REPORT_DATA/attacks.jsonl.gz" ] && REPORT_ARGS+=(--attacks "$REPORT_DATA/attacks.jsonl.gz")
  compgen -G "$REPORT_DATA/gradnorm-*.jsonl.gz" >/dev/null && REPORT_ARGS+=(--grad-logs "$REPORT_DATA/gradnorm-*.jsonl.gz")
  compgen -G "$REPORT_DATA/influence-*.jsonl.gz" >/dev/null && for kind in influence train-gradient probe-change; do
    compgen -G "$REPORT_DATA/$kind-*.jsonl.gz" >/dev/null && REPORT_ARGS+=(--dynamics "$REPORT_DATA/$kind-*.jsonl.gz")
  done
  mkdir -p out
  node bin/aligndepth.js report "${REPORT_ARGS[@]}" --out out/report.html || FAILED+=("report")
else
  log "report: skipped (no $REPORT_DATA/tokens-*.jsonl.gz yet, or --no-report)"
fi
# <<< REPORT HOOK

if [ "${#NOTEBOOKS[@]}" = 0 ]; then log "no notebooks in notebooks/"; fi
if [ "${#FAILED[@]}" -gt 0 ]; then
  die "${#FAILED[@]} failed: ${FAILED[*]}"
fi
log "all ${#NOTEBOOKS[@]} notebook(s) ran; outputs in $OUT_DIR/"
