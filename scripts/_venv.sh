# Shared by scripts/up and scripts/test (sourced, not run): go to the repository root, make sure
# .venv exists with Python 3.11 or newer, and (re)install from the lock when pyproject.toml or a
# requirements*.txt changed since the last install (a stamp file in .venv remembers their hash):
# every dependency, pinned and hash-checked, from requirements-dev.txt, then the project itself
# (editable, --no-deps, built with the locked setuptools: nothing comes from outside the lock).
# The lock files are refreshed by scripts/lock.
# PYTHON=/path/to/python3.x overrides the interpreter used to create .venv (default: python3).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

_orchestra_python_ok() {  # $1: interpreter; true when it is Python >= 3.11
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "Orchestra needs Python 3.11 or newer, but '$PYTHON' was not found." >&2
        echo "Install it (Debian/Ubuntu: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11." >&2
        exit 1
    fi
    if ! _orchestra_python_ok "$PYTHON"; then
        echo "Orchestra needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1)." >&2
        echo "Install a newer Python and run again with PYTHON=/path/to/python3.11 (or newer)." >&2
        exit 1
    fi
    echo "Creating .venv with $("$PYTHON" --version 2>&1) …"
    if ! "$PYTHON" -m venv .venv; then
        echo "Could not create .venv (Debian/Ubuntu: apt-get install python3-venv)." >&2
        exit 1
    fi
elif ! _orchestra_python_ok .venv/bin/python; then
    echo ".venv has $(.venv/bin/python --version 2>&1); Orchestra needs 3.11 or newer. Remove .venv and run again." >&2
    exit 1
fi

_orchestra_stamp=.venv/.orchestra-install-stamp
_orchestra_hash="$(.venv/bin/python -c '
import glob, hashlib
digest = hashlib.sha256()
for name in ["pyproject.toml", *sorted(glob.glob("requirements*.txt"))]:
    digest.update(name.encode() + b"\0" + open(name, "rb").read())
print(digest.hexdigest())')"
if [ "$(cat "$_orchestra_stamp" 2>/dev/null || true)" != "$_orchestra_hash" ]; then
    echo "Installing Orchestra and its dependencies from the lock into .venv (quietly; a minute or two the first time) …"
    if ! { .venv/bin/python -m pip install --disable-pip-version-check --require-hashes -r requirements-dev.txt \
           && .venv/bin/python -m pip install --disable-pip-version-check --no-deps --no-build-isolation -e . ; } \
           > .venv/pip-install.log 2>&1; then
        tail -n 40 .venv/pip-install.log >&2
        echo "pip install failed; the whole log is in .venv/pip-install.log" >&2
        exit 1
    fi
    echo "$_orchestra_hash" > "$_orchestra_stamp"
fi
