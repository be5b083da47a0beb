"""Redis, Debian's ``redis-server``, as a process the tests own.

What kolla-ansible deploys for tooz's coordination (``[coordination]
backend_url = redis://...``): the central agents share the backups of a
polling cycle through it. On a free port, of loopback by default, nothing
written to disk (no RDB snapshot, no append-only file), stopped by PID.
"""

import os

from testcloud import servers

REDIS_SERVER = '/usr/bin/redis-server'


class Redis(servers.Service):
    def __init__(self, workdir, address='127.0.0.1'):
        """``address``: where it listens (a testcloud.hosts Network's for
        its hosts to reach)."""
        servers.require('Redis (redis-server)', REDIS_SERVER)
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.address = address
        self.port = servers.free_port()
        # As kolla-ansible sets one; without, Redis takes loopback only.
        self.password = 'redis-Passw0rd'
        self.url = f'redis://:{self.password}@{address}:{self.port}'
        self.log = os.path.join(workdir, 'redis.log')
        self.process = None

    def start(self):
        try:
            self.process = servers.start(
                [
                    REDIS_SERVER,
                    '--bind', self.address,
                    '--requirepass', self.password,
                    '--port', str(self.port),
                    '--dir', self.workdir,
                    '--save', '',
                    '--appendonly', 'no',
                    '--daemonize', 'no',
                ],
                dict(os.environ),
                self.log,
            )  # fmt: skip
            servers.wait_for_port(self.port, self.process, 30, self.address)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        servers.stop(self.process)
        self.process = None

    def coordination_url(self, **options):
        """tooz's ``backend_url`` for this Redis, with the driver's
        ``options`` (e.g. ``membership_timeout``)."""
        query = '&'.join(f'{k}={v}' for k, v in options.items())
        return f'{self.url}?{query}' if query else self.url
