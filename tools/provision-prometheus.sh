#!/bin/bash
# Installs Debian's prometheus package (/usr/bin/prometheus and
# /usr/bin/promtool) for tests/functional/test_prometheus.py, which starts
# a Prometheus of its own. Leaves no system Prometheus (nor node exporter)
# running or enabled at boot: the package's postinst would start and
# enable one. Run as root on Debian 12; tools/provision.sh can call it.
set -euo pipefail

if [ ! -x /usr/bin/prometheus ] || [ ! -x /usr/bin/promtool ]; then
    # Without recommends: no prometheus-node-exporter.
    bash "$(dirname "$0")/apt-install.sh" prometheus
fi

# Whatever started or got enabled (by this install or an earlier one):
# stopped and disabled. The init script stops only the service's own
# process (its pidfile, user prometheus), never a test's Prometheus.
for service in prometheus prometheus-node-exporter; do
    if [ -d /run/systemd/system ]; then
        systemctl disable --now "$service.service" >/dev/null 2>&1 || true
        continue
    fi
    if [ -x "/etc/init.d/$service" ]; then
        if [ -e "/run/$service/$service.pid" ]; then
            "/etc/init.d/$service" stop >/dev/null || true
        fi
        update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
    # The unit is enabled for a later systemd boot even without systemd.
    if [ -e "/lib/systemd/system/$service.service" ]; then
        deb-systemd-helper disable "$service.service" >/dev/null 2>&1 || true
    fi
done

/usr/bin/prometheus --version 2>&1 | head -n 1
/usr/bin/promtool --version 2>&1 | head -n 1
