#!/bin/bash
# Runs the six benchmarks of doc/source/benchmarks.md on a fresh Debian 12
# machine, as root: installs what tools/test.sh does, plus a stock
# Ceilometer 27.0.0 without this plugin in .venv-stock (benchmark 4's
# baseline: Ceilometer loads every sample endpoint installed). Not tests:
# nothing asserts a time. Benchmark 4 runs twice: every setting with
# 10 000 notifications queued, then each side's best with 30 000.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/provision.sh test-requirements.txt
if [ ! -x .venv-stock/bin/ceilometer-agent-notification ]; then
    python3 -m venv .venv-stock
    .venv-stock/bin/pip install --quiet ceilometer==27.0.0
fi

.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.endpoint_cpu
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.progress_traffic
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.pollster_scale
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.backup_cost
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.backup_cost --ceph
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.rbd_watch_cost
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.end_to_end
.venv/bin/python -W ignore::DeprecationWarning -m benchmarks.end_to_end \
    --notifications 30000 \
    --only 'prefetch    1 workers 2' --only 'prefetch 2000 workers 2'
