#!/usr/bin/env bash
# Sets up aligndepth on this machine; safe to run again (it only does what is missing).
#
#   bash scripts/setup.sh           npm packages, build, Jupyter, the tslab kernel
#   bash scripts/setup.sh --tests   also what the tests need: Chromium (for the browser checks) and
#                                   pytest, torch, pandas, venv, pip, setuptools and wheel under
#                                   /usr/bin/python3 (for lab/tests)
#
# Jupyter comes from apt on Debian/Ubuntu when run as root (or with password-less sudo), otherwise
# from `pip install --user`. The tslab kernel is registered inside the project (.jupyter-local/),
# never globally: scripts that run Jupyter set JUPYTER_PATH to find it (scripts/common.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/common.sh

WITH_TESTS=0
for arg in "$@"; do
  case "$arg" in
    --tests) WITH_TESTS=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

DONE=()
log() { echo "[setup] $*"; }
did() { DONE+=("$*"); log "$*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

# Installs Debian packages, as root or through password-less sudo. Returns 1 when it cannot.
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else return 1; fi
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
    APT_UPDATED=1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" || return 1
  did "installed with apt-get: $*"
}

# --- 1. npm packages -----------------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "Node.js is not installed (need Node >= 20)."
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || die "Node $(node -v) is too old (need >= 20)."
# npm records what it installed in node_modules/.package-lock.json; reinstall when the manifests are newer.
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package.json ] &&
   { [ ! -f package-lock.json ] || [ node_modules/.package-lock.json -nt package-lock.json ]; }; then
  log "npm packages: up to date"
elif [ -f package-lock.json ] && npm ci --no-audit --no-fund 2>"${TMPDIR:-/tmp}/aligndepth-npm-ci.log"; then
  did "installed npm packages (npm ci)"
elif [ -f package-lock.json ]; then
  # npm ci refuses a lock file that lacks other platforms' optional packages (e.g. DuckDB's darwin
  # bindings, when the registry in use does not serve them); npm install accepts it.
  # awk reads to the end: `| head` would close the pipe early, and pipefail would end the script.
  awk '!/nodedir/ && n++ < 5' "${TMPDIR:-/tmp}/aligndepth-npm-ci.log" >&2
  log "npm ci failed (above; full log in ${TMPDIR:-/tmp}/aligndepth-npm-ci.log); falling back to npm install"
  npm install --no-audit --no-fund
  did "installed npm packages (npm install, because npm ci failed)"
else
  npm install --no-audit --no-fund
  did "installed npm packages (npm install)"
fi
[ "$(find node_modules -name package.json -path '*/tslab/package.json' -not -path '*/tslab/node_modules/*' | wc -l)" = 1 ] ||
  log "warning: more than one copy of tslab in node_modules; show() needs the one the kernel runs."

# --- 2. build --------------------------------------------------------------------------------------
if build_if_stale; then did "built the library (npm run build -> dist/)";
elif [ $? = 2 ]; then log "build: dist/ is up to date";
else die "npm run build failed"; fi

# --- 3. Jupyter ------------------------------------------------------------------------------------
if JUPYTER_PYTHON="$(find_jupyter_python)"; then
  log "Jupyter: found under $JUPYTER_PYTHON"
else
  log "Jupyter (nbconvert, nbclient, jupyter_client) not found; installing it."
  if apt_install jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipython; then :
  else
    log "apt-get is not available (or not as root); trying pip install --user."
    for py in python3 /usr/bin/python3; do
      if command -v "$py" >/dev/null 2>&1 && "$py" -m pip install --user --quiet notebook nbconvert nbclient jupyter_client ipython; then
        did "installed Jupyter with $py -m pip install --user notebook nbconvert nbclient jupyter_client ipython"
        break
      fi
    done
  fi
  JUPYTER_PYTHON="$(find_jupyter_python)" || die "could not install Jupyter. Install it yourself, e.g.
  Debian/Ubuntu:  sudo apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client
  elsewhere:      python3 -m pip install --user notebook nbconvert nbclient jupyter_client
and run this script again (set JUPYTER_PYTHON=/path/to/python if it is not python3)."
fi
export JUPYTER_PYTHON

# --- 4. the tslab kernel, registered inside the project ------------------------------------------
if kernel_registered; then
  log "tslab kernel: registered in .jupyter-local/"
else
  node_modules/.bin/tslab install --python="$JUPYTER_PYTHON" --binary="$ROOT/node_modules/.bin/tslab" --prefix="$KERNEL_PREFIX" >/dev/null
  kernel_registered || die "tslab install did not write $KERNEL_PREFIX/share/jupyter/kernels/tslab/kernel.json"
  did "registered the tslab kernel in .jupyter-local/ (use JUPYTER_PATH=$KERNEL_PREFIX/share/jupyter)"
fi
# Read the whole list first: with pipefail, `grep -q` closing the pipe early could fail the check.
KERNELSPECS="$(jupyter_cmd kernelspec list 2>/dev/null || true)"
grep -q "tslab.*$KERNEL_PREFIX" <<<"$KERNELSPECS" || die "Jupyter does not see the tslab kernel in $KERNEL_PREFIX"

# --- 5. test dependencies (--tests) -----------------------------------------------------------------
if [ "$WITH_TESTS" = 1 ]; then
  if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    log "Chromium: ${CHROMIUM:-/usr/bin/chromium}"
  else
    apt_install chromium || die "Chromium is missing: install it (Debian: apt-get install chromium) or set CHROMIUM=/path/to/chromium. Browser builds are never downloaded."
  fi
  # pdftoppm rasterises the exported PDFs in test/figures/export.test.ts.
  if command -v pdftoppm >/dev/null 2>&1; then
    log "pdftoppm (poppler-utils): $(command -v pdftoppm)"
  else
    apt_install poppler-utils || die "pdftoppm is missing: install poppler-utils (Debian: apt-get install poppler-utils)."
  fi
  if [ -d lab/tests ]; then
    LAB_PYTHON="${LAB_PYTHON:-/usr/bin/python3}"
    missing=()
    # ensurepip (python3-venv), pip, setuptools and wheel: lab/tests installs ./lab into a fresh venv
    for mod in pytest:python3-pytest torch:python3-torch pandas:python3-pandas ensurepip:python3-venv \
               pip:python3-pip setuptools:python3-setuptools wheel:python3-wheel; do
      "$LAB_PYTHON" -c "import ${mod%%:*}" >/dev/null 2>&1 || missing+=("${mod#*:}")
    done
    # Debian's python3-torch calls the BLAS that libblas.so.3 points to: the reference BLAS is about 8x
    # slower for the lab's matrix products than OpenBLAS (0.50 s against 0.06 s a pretraining step here)
    # (the lab runs either way; only its speed depends on it)
    if command -v dpkg-query >/dev/null 2>&1 &&
       [[ "$(dpkg-query -W -f='${Status}' libopenblas0-serial 2>/dev/null)" != *"install ok installed"* ]]; then
      apt_install libopenblas0-serial || log "OpenBLAS (libopenblas0-serial) could not be installed: the lab runs about 8x slower with the reference BLAS."
    fi
    if [ "${#missing[@]}" -gt 0 ]; then
      apt_install "${missing[@]}" || die "lab tests need ${missing[*]} under $LAB_PYTHON (Debian: apt-get install ${missing[*]}; elsewhere pip install pytest torch pandas and set LAB_PYTHON)."
    else
      log "lab test packages (pytest, torch, pandas, venv, pip, setuptools, wheel): found under $LAB_PYTHON"
    fi
  fi
fi

log "done. ${#DONE[@]} change(s) made:"
for d in "${DONE[@]}"; do log "  - $d"; done
log "Open the notebooks with:  JUPYTER_PATH=$KERNEL_PREFIX/share/jupyter $JUPYTER_PYTHON -m jupyter notebook notebooks/"
