#!/bin/bash
# Lint: ruff over everything Python. Run by tools/test.sh (with .venv's
# ruff) and by tox -e pep8 (with its own).
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check ceilometer_backup testcloud tests benchmarks doc/source
ruff format --check ceilometer_backup testcloud tests benchmarks doc/source
