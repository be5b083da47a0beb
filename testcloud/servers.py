"""Processes the tests own: started on free loopback ports, stopped by PID.

Every server runs in its own session (process group) so that stopping it
takes its children too, with SIGKILL when SIGTERM is not enough. Every
service of the cloud is a ``Service``, and runs from its virtualenv in
``VENVS``.
"""

import collections
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from testcloud.ground import ROOT

# What runs inside a service's own virtualenv.
SCRIPTS = os.path.join(os.path.dirname(__file__), 'scripts')
# The services' virtualenvs, by name: each pins what its service needs,
# which need not agree with the others' (tools/provision.sh makes them).
# NAME_VENV in the environment names another (tools/release.sh gives
# CINDER_VENV a release's). Cinder's is the test run's own, where this
# package is installed; stock is Ceilometer without this package.
VENVS = {
    name: os.path.abspath(
        os.environ.get(f'{name.upper()}_VENV', os.path.join(ROOT, directory))
    )
    for name, directory in (
        ('cinder', '.venv'),
        ('keystone', '.venv-keystone'),
        ('swift', '.venv-swift'),
        ('gnocchi', '.venv-gnocchi'),
        ('cloudkitty', '.venv-cloudkitty'),
        ('aodh', '.venv-aodh'),
        ('stock', '.venv-stock'),
    )
}


def require(name, path):
    """RuntimeError naming what to run when ``name`` is not installed
    (``path``, one of its programs, is missing)."""
    if not os.path.exists(path):
        raise RuntimeError(
            f'{name} is not installed ({path} is missing): run '
            'tools/provision.sh'
        )


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, timeout, address='127.0.0.1'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f'{process.args[0]} exited with {process.returncode}'
            )
        try:
            with socket.create_connection((address, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f'nothing listens on port {port} after {timeout}s')


def check_alive(processes, log_of):
    """RuntimeError for the first of ``processes`` (name -> Popen) that
    has exited, naming ``log_of(name)``."""
    for name, process in processes.items():
        if process.poll() is not None:
            raise RuntimeError(f'{name} exited, see {log_of(name)}')


def start(argv, env, log_path):
    """Start ``argv`` in a session of its own, output to ``log_path``."""
    with open(log_path, 'ab') as log:
        return subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process, timeout=15):
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tree_cpu_seconds(root):
    """CPU time of process ``root`` and every process under it, reaped
    ones included (they are in their parents' cutime), from /proc."""
    children = collections.defaultdict(list)
    times = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        # After the command: state, ppid, ..., utime, stime, cutime, cstime.
        children[int(fields[1])].append(int(entry))
        times[int(entry)] = sum(int(v) for v in fields[11:15])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0)
        todo.extend(children[pid])
    return total / os.sysconf('SC_CLK_TCK')


def console_script(name, bindir=None):
    """A console script of ``bindir``, or of the test run's own
    environment."""
    local = os.path.join(bindir or os.path.dirname(sys.executable), name)
    return local if os.path.exists(local) else shutil.which(name)


def script(venv, name):
    """argv running testcloud/scripts/``name``.py with ``venv``'s Python."""
    return [
        os.path.join(venv, 'bin', 'python'),
        os.path.join(SCRIPTS, f'{name}.py'),
    ]


def uwsgi(venv, port, module, tls=None, *more, address='127.0.0.1'):
    """uwsgi of ``venv`` serving the WSGI ``module`` on ``address``:``port``,
    HTTPS with ``tls``'s certificate if given (testcloud.tls): one
    process of four threads, every answer saying ``Connection: close``
    (uwsgi's socket modes do not serve a second request on a kept-alive
    connection), stopped by SIGTERM rather than reloaded. ``more``: more
    uwsgi arguments."""
    listen = f'{address}:{port}'
    if tls:
        listen = ('--https-socket', f'{listen},{tls.certfile},{tls.keyfile}')
    else:
        listen = ('--http-socket', listen)
    return [
        f'{venv}/bin/uwsgi',
        *listen,
        '--home', venv,
        '--module', module,
        '--master', '--processes', '1', '--threads', '4',
        '--die-on-term', '--need-app', '--lazy-apps',
        '--add-header', 'Connection: close',
        *more,
    ]  # fmt: skip


def run(argv, timeout=300, input=None, cwd=None, env=None):
    """Run a command to its end; its output, or an error with its stderr
    (and the first three words of ``argv``: no password given after)."""
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        cwd=cwd,
        env=env,
    )
    if done.returncode:
        raise CommandFailed(
            f'{" ".join(argv[:3])} failed ({done.returncode}):\n'
            f'{done.stderr[-3000:]}',
            done.returncode,
        )
    return done.stdout


class CommandFailed(RuntimeError):
    """A command of ``run`` that exited non-zero; ``returncode`` is
    negative when a signal ended it."""

    def __init__(self, message, returncode):
        super().__init__(message)
        self.returncode = returncode


class Service:
    """One service of the cloud, each of the same shape.

    ``start()`` returns it serving; ``stop()`` stops whatever it started
    (after a failed start too, and again: nothing more), and ``with`` does
    both. ``url``: where it answers, if it has an API; ``log``: the file
    its output goes to, or for a service of several processes with a file
    each, ``log_of(name)``. A service with a Python of its own names its
    virtualenv in ``VENVS`` (``venv_name``).
    """

    venv_name = None
    url = None
    log = None

    @property
    def venv(self):
        return VENVS[self.venv_name]

    def bin(self, program):
        """The path of ``program`` in the service's virtualenv."""
        return os.path.join(self.venv, 'bin', program)

    def start(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def log_of(self, name):
        """The log of the service's process ``name``: by default its one
        log."""
        return self.log

    def log_text(self, name=None):
        """What the log of ``name`` (by default the service's) holds."""
        path = self.log if name is None else self.log_of(name)
        with open(path, errors='replace') as f:
            return f.read()


class LoopbackHTTP:
    """An HTTP server of the test's own, on a free port of loopback (or
    of ``address``: a testcloud.hosts Network's), served by a thread from
    ``__enter__`` to ``__exit__``."""

    def __init__(self, handler, address='127.0.0.1'):
        self._server = ThreadingHTTPServer((address, 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f'http://{address}:{self.port}'
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        # shutdown() waits for serve_forever, forever if it never ran.
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
