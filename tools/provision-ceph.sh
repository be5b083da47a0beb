#!/bin/bash
# Installs Debian 12's Ceph 16.2 (ceph-mon, ceph-mgr, ceph-osd, ceph-common)
# for the tests' single-node cluster (testcloud/ceph.py starts and stops
# its own daemons; none is started or enabled here), and makes Debian's
# rados and rbd bindings importable from the virtualenv given (.venv by
# default), which Cinder's Ceph drivers need: a directory holding only
# those two modules, named by a .pth file, so that no other Debian package
# leaks into the virtualenv. Run as root on Debian 12, after the
# virtualenv exists.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}

if [ ! -x /usr/bin/ceph-osd ] || [ ! -x /usr/bin/ceph-mgr ] \
        || [ ! -e /usr/lib/python3/dist-packages/rbd.cpython-311-x86_64-linux-gnu.so ]; then
    bash tools/apt-install.sh ceph-mon ceph-mgr ceph-osd ceph-common \
        python3-rados python3-rbd
fi

# Debian builds the bindings for its own Python 3.11: the virtualenv's
# must have the same ABI.
tag=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
bindings="$PWD/$venv/ceph-bindings"
mkdir -p "$bindings"
for module in rados rbd; do
    so="/usr/lib/python3/dist-packages/$module$tag"
    if [ ! -e "$so" ]; then
        echo "provision-ceph: $so is missing: Debian's python3-$module has no" \
            "build for $venv's Python ($tag)" >&2
        exit 1
    fi
    ln -sf "$so" "$bindings/"
done
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$bindings" >"$site/ceph-bindings.pth"
"$venv/bin/python" -c 'import rados, rbd; print("ceph bindings:", rados.__file__, rbd.__file__)'
