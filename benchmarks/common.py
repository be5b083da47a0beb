"""What every benchmark prints first: the machine it ran on."""

import os
import platform
import time


def describe_machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f'{time.strftime("%Y-%m-%d")}, {cpu}, {os.cpu_count()} cores, '
        f'Python {platform.python_version()}'
    )


def best_of(runs, function):
    """The fastest of ``runs`` timings of ``function()``, in seconds."""
    best = float('inf')
    for _ in range(runs):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best
