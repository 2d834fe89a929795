# Sourced by scripts/dev and scripts/test: makes .venv with Python 3.12 and installs
# requirements-dev.txt into it whenever the requirements change. Needs nothing but a
# Python 3.12 somewhere findable (PATH, pyenv, or ZENTRO_PYTHON).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

_is_py312() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }

find_python312() {
  local candidate
  for candidate in "${ZENTRO_PYTHON:-}" "$(command -v python3.12 || true)"; do
    if _is_py312 "$candidate"; then echo "$candidate"; return 0; fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    local version
    for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -rV); do
      candidate="$(pyenv root)/versions/$version/bin/python3.12"
      if _is_py312 "$candidate"; then echo "$candidate"; return 0; fi
    done
  fi
  if command -v uv >/dev/null 2>&1; then
    candidate="$(uv python find 3.12 2>/dev/null || true)"
    if _is_py312 "$candidate"; then echo "$candidate"; return 0; fi
  fi
  return 1
}

ensure_venv() {
  if ! _is_py312 "$VENV/bin/python"; then
    local python
    python="$(find_python312)" || {
      echo "Zentro needs Python 3.12: install it (pyenv install 3.12) or set ZENTRO_PYTHON." >&2
      exit 1
    }
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
  fi
  local stamp="$VENV/.requirements.sha256" want
  want="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "Installing Python dependencies into .venv ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
    VIRTUAL_ENV="$VENV" "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" \
      -r "$ROOT/requirements-dev.txt"
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
}

# The Chromium that the local Browserbase stand-in (scripts/standins) launches for every session.
# Called by scripts/test and scripts/dev, not here: installs the Debian package when none is found.
ensure_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then return 0; fi
  if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then return 0; fi
  local sudo=""
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    sudo=""
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "Zentro needs Chromium for the Zeus portal tests and the local Browserbase stand-in:" \
      "install it (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium executable." >&2
    return 1
  fi
  echo "Installing Chromium (Debian package) ..." >&2
  $sudo apt-get update -qq &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

ensure_venv
cd "$ROOT"
