"""Upstream's private symbols this package relies on, when one is gone.

Where only a private symbol of Cinder, oslo.messaging or Ceilometer will
do, each process checks it as it starts; one that a release lacks is one
ERROR naming the release, the symbol and what goes without it, and the
rest keeps working. One wording for all three, so that an operator's
alert on one matches the others.
"""

from importlib import metadata


def log_missing(log, project, symbol, feature):
    """``project``: as its distribution is named, but for capitals
    (``Cinder``, ``oslo.messaging``). The record is ``log``'s, so it
    carries the caller's logger name; its line number is this one's."""
    log.error(
        '%(project)s %(release)s has no %(symbol)s: %(feature)s',
        {
            'project': project,
            'release': metadata.version(project.lower()),
            'symbol': symbol,
            'feature': feature,
        },
    )
