"""Hosts as Linux network namespaces, on a bridge the tests own.

A ``Network`` is a bridge with an address on the machine's side (where
services that every host reaches listen, as on a management network) and
``Host``s, each a network namespace joined to the bridge by a veth pair
with an address of its own: a process started on a host binds and is
reached there as on a machine of its own, and a host can be cut off (its
link down) or killed whole (every process in it SIGKILLed).

Its subnet is a /24 of 198.18.0.0/15 (RFC 2544's, for testing network
devices) that no route of the machine covers; traffic goes only between
the bridge and the hosts. Names start with ``cbk`` and the test process's
id, so that runs side by side do not meet; ``stop()`` deletes every
namespace, link and process it made, and ``leftovers()`` finds any that
a killed run left.
"""

import ipaddress
import itertools
import os
import signal
import time

from testcloud import servers

PREFIX = 'cbk'
# Networks made by this process so far: one letter of each one's prefix.
_MADE = itertools.count()
RANGE = ipaddress.ip_network('198.18.0.0/15')


def _ip(*args, netns=None):
    command = ['ip', *(['netns', 'exec', netns, 'ip'] if netns else []), *args]
    return servers.run(command, timeout=30)


def _routed():
    """The networks the machine already routes to."""
    found = []
    for line in _ip('-4', 'route', 'show', 'table', 'all').splitlines():
        first = line.split()[0] if line.split() else ''
        if first in ('default', 'broadcast', 'local'):
            continue
        try:
            found.append(ipaddress.ip_network(first, strict=False))
        except ValueError:
            continue
    return found


def leftovers():
    """Namespaces and links named as a Network names them."""
    names = _ip('netns', 'list').split()
    links = [
        line.split(':')[1].strip().split('@')[0]
        for line in _ip('-o', 'link', 'show').splitlines()
    ]
    return [n for n in names + links if n.startswith(PREFIX)]


class Host:
    """One namespace of a Network: ``address``, ``command(argv)`` to run
    a program there, ``cut()``/``join()`` its link, ``kill()`` all in it."""

    def __init__(self, network, name, address, number):
        self.network = network
        self.name = name
        self.address = str(address)
        self.netns = f'{network.prefix}-{name}'
        # The veth's ends: on the bridge, in the namespace.
        self.link = f'{network.prefix}v{number}'
        self.inside = 'eth0'

    def create(self):
        _ip('netns', 'add', self.netns)
        _ip('link', 'set', 'lo', 'up', netns=self.netns)
        _ip(
            'link', 'add', self.link, 'type', 'veth',
            'peer', 'name', f'{self.link}p',
        )  # fmt: skip
        _ip('link', 'set', f'{self.link}p', 'netns', self.netns)
        _ip('link', 'set', f'{self.link}p', 'name', self.inside,
            netns=self.netns)  # fmt: skip
        _ip('addr', 'add', f'{self.address}/24', 'dev', self.inside,
            netns=self.netns)  # fmt: skip
        _ip('link', 'set', self.inside, 'up', netns=self.netns)
        _ip('link', 'set', self.link, 'master', self.network.bridge)
        self.join()

    def command(self, argv):
        """``argv`` run inside the host."""
        return ['ip', 'netns', 'exec', self.netns, *argv]

    def cut(self):
        """The host's link down: nothing reaches it, it reaches nothing."""
        _ip('link', 'set', self.link, 'down')

    def join(self):
        _ip('link', 'set', self.link, 'up')

    def pids(self):
        return [int(p) for p in _ip('netns', 'pids', self.netns).split()]

    def kill(self):
        """SIGKILL every process in the host, as when it loses power."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f'{self.netns} still runs {self.pids()}')

    def delete(self):
        self.kill()
        for command in (
            ['link', 'del', self.link],
            ['netns', 'del', self.netns],
        ):
            try:
                _ip(*command)
            except servers.CommandFailed:
                pass  # never made, or gone with the other


class Network(servers.Service):
    """A bridge of the tests' own, and hosts on it (``add(name)``)."""

    def __init__(self):
        self.prefix = (
            f'{PREFIX}{os.getpid() % 100000}'
            f'{"abcdefghijklmnopqrstuvwxyz"[next(_MADE) % 26]}'
        )
        self.bridge = f'{self.prefix}br'
        self.hosts = {}
        self._numbers = itertools.count()
        self.subnet = None
        self.address = None
        self._addresses = None

    def start(self):
        try:
            taken = _routed()
            self.subnet = next(
                s
                for s in RANGE.subnets(new_prefix=24)
                if not any(s.overlaps(t) for t in taken)
            )
            self._addresses = self.subnet.hosts()
            self.address = str(next(self._addresses))
            _ip('link', 'add', self.bridge, 'type', 'bridge')
            _ip('addr', 'add', f'{self.address}/24', 'dev', self.bridge)
            _ip('link', 'set', self.bridge, 'up')
        except BaseException:
            self.stop()
            raise
        return self

    def add(self, name):
        """A new host ``name`` on the network."""
        host = Host(self, name, next(self._addresses), next(self._numbers))
        self.hosts[name] = host
        try:
            host.create()
        except BaseException:
            host.delete()
            raise
        return host

    def remove(self, name):
        """Host ``name`` deleted, every process in it killed."""
        self.hosts.pop(name).delete()

    def stop(self):
        for host in self.hosts.values():
            host.delete()
        self.hosts = {}
        try:
            _ip('link', 'del', self.bridge)
        except servers.CommandFailed:
            pass  # never made
        left = [n for n in leftovers() if n.startswith(self.prefix)]
        if left:
            raise RuntimeError(f'left behind: {left}')
