# Sourced by the scripts in scripts/: where Jupyter is, the project-local tslab kernel, the build.
# Sets ROOT, JUPYTER_PYTHON (a Python that has nbconvert, nbclient and jupyter_client),
# JUPYTER_PATH (so Jupyter finds the tslab kernel registered inside the project) and the
# functions find_jupyter_python, jupyter_cmd, kernel_registered and build_if_stale.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KERNEL_PREFIX="$ROOT/.jupyter-local"
export JUPYTER_PATH="$KERNEL_PREFIX/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
# Silences jupyter_core's platformdirs deprecation warning; harmless where it is not known.
export JUPYTER_PLATFORM_DIRS="${JUPYTER_PLATFORM_DIRS:-1}"

# Prints the first Python that can run Jupyter headless. Debian's packages live under
# /usr/bin/python3, which is not always the `python3` on PATH (pyenv, conda).
find_jupyter_python() {
  local py
  for py in "${JUPYTER_PYTHON:-}" /usr/bin/python3 python3 python; do
    [ -n "$py" ] || continue
    command -v "$py" >/dev/null 2>&1 || continue
    if "$py" -c "import nbconvert, nbclient, jupyter_client, IPython" >/dev/null 2>&1; then
      command -v "$py"
      return 0
    fi
  done
  return 1
}

# Runs `jupyter <subcommand> ...` with the Python found above.
jupyter_cmd() {
  "$JUPYTER_PYTHON" -m jupyter "$@"
}

# True when the tslab kernel inside the project points at this checkout's tslab binary.
kernel_registered() {
  local spec="$KERNEL_PREFIX/share/jupyter/kernels/tslab/kernel.json"
  [ -f "$spec" ] && grep -qF "\"$ROOT/node_modules/.bin/tslab\"" "$spec" && [ -x "$ROOT/node_modules/.bin/tslab" ]
}

# Builds dist/ (npm run build) when it is missing or older than src/, package.json or tsconfig.json.
# tsc rewrites every output, so building only when needed keeps executed notebooks that are newer
# than dist/ reusable by the end-to-end tests.
build_if_stale() {
  if [ ! -f "$ROOT/dist/index.js" ] ||
     [ -n "$(find "$ROOT/src" "$ROOT/package.json" "$ROOT/tsconfig.json" -newer "$ROOT/dist/index.js" -print -quit)" ]; then
    (cd "$ROOT" && npm run --silent build) || return 1
    touch "$ROOT/dist/index.js"
    return 0
  fi
  return 2
}
