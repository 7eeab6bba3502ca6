#!/usr/bin/env bash
# Opens the notebook tour in classic Jupyter Notebook with the project's tslab kernel
# (.jupyter-local/, registered by scripts/setup.sh). Adds --allow-root when run as root (Jupyter
# refuses to start as root without it). Extra arguments go to `jupyter notebook`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JUPYTER_PYTHON="${JUPYTER_PYTHON:-/usr/bin/python3}"
[ -f "$ROOT/.jupyter-local/share/jupyter/kernels/tslab/kernel.json" ] || { echo "notebook: the tslab kernel is not registered: run 'bash scripts/setup.sh' (or 'npm run main') first" >&2; exit 1; }
args=()
[ "$(id -u)" = 0 ] && args+=(--allow-root)
export JUPYTER_PATH="$ROOT/.jupyter-local/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
exec "$JUPYTER_PYTHON" -m jupyter notebook "${args[@]}" "$@" "$ROOT/notebooks/"
