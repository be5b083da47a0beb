"""The account, container and object rings of a one-device Swift, built
with swift.common.ring's builder, run with Swift's virtualenv's Python
(``Swift.start``)::

    python swift_rings.py SWIFT_DIR '{"account": PORT, ...}'

One replica on device ``d1`` of 127.0.0.1, each ring's server on its port.
"""

import json
import sys

from swift.common.ring import RingBuilder


def main(base, ports):
    for kind, port in ports.items():
        builder = RingBuilder(6, 1, 1)
        builder.add_dev(
            {
                'region': 1,
                'zone': 1,
                'ip': '127.0.0.1',
                'port': port,
                'device': 'd1',
                'weight': 100,
            }
        )
        builder.rebalance()
        builder.save(f'{base}/{kind}.builder')
        builder.get_ring().save(f'{base}/{kind}.ring.gz')


if __name__ == '__main__':
    main(sys.argv[1], json.loads(sys.argv[2]))
