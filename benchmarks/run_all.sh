#!/bin/sh
# Run every Orchestra benchmark and print a summary table (see benchmarks/README.md).
# Usage: benchmarks/run_all.sh [--quick] [--profile] [--src HEAD|DIR] [--json FILE] [--no-governance]
set -e
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
exec "$PY" -m benchmarks "$@"
