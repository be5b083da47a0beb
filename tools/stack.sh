#!/bin/bash
# A real OpenStack on loopback for a person or the functional tests:
# PostgreSQL, RabbitMQ, Keystone 30.0.0 (uwsgi) and Cinder 29.0.0 (api,
# scheduler, volume, backup with the metering wrapper), metered by Gnocchi
# 4.7.1 and Ceilometer's two agents as the install pages deploy them, every
# server a process of its own on a free 127.0.0.1 port.
#   tools/stack.sh up [--dir DIR]      start; prints credentials, an openrc
#                                      and how to make and see a backup
#   tools/stack.sh meters BACKUP_ID [--dir DIR]   its meters in Gnocchi
#   tools/stack.sh status [--dir DIR]
#   tools/stack.sh down [--dir DIR]    stop by the recorded process groups
# DIR defaults to /tmp/ceilometer-backup-stack. Run as root on Debian 12:
# up installs what it needs first, as tools/test.sh does.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = up ]; then
    bash tools/provision.sh test-requirements.txt
fi
exec .venv/bin/python -m testcloud "$@"
