#!/bin/bash
# Runs the eight benchmarks of doc/source/benchmarks.md on a fresh Debian 12
# machine, as root: installs what tools/test.sh does, a stock Ceilometer
# 27.0.0 without this plugin in .venv-stock among it (benchmark 4's
# baseline: Ceilometer loads every sample endpoint installed). Not tests:
# nothing asserts a time. Benchmark 4 runs twice: every setting with
# 10 000 notifications queued, then each side's best with 30 000.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/provision.sh test-requirements.txt

.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.endpoint_cpu
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.progress_traffic
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.pollster_scale
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.stored_scale
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.back_window_cost
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.backup_cost
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.backup_cost --ceph
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.rbd_watch_cost
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.end_to_end
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.end_to_end \
    --notifications 30000 \
    --only 'prefetch    1 workers 2' --only 'prefetch 2000 workers 2'
