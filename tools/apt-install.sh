#!/bin/bash
# apt-install.sh PACKAGE...: installs Debian packages (no recommends)
# without starting or enabling the services they bring: the tests start
# their own servers. invoke-rc.d and deb-systemd-invoke, which postinsts
# use to start services, ask policy-rc.d: 101 is "not allowed". A policy
# already there (container images have one) is kept. Run as root.
set -euo pipefail
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "$@" >/dev/null
