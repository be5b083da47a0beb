"""Upstream's private symbols this package relies on, one inventory per
upstream project.

Where only a private symbol (or a method this package overrides) of
Cinder, oslo.messaging, Ceilometer or python-cinderclient will do, it is
listed in that project's module here, with what goes without it; the code
that uses it reads it from there, and each process checks its projects'
as it starts. One that a release lacks is one ERROR naming the release,
the symbol and what goes without it, and the rest keeps working. One
wording for all, so that an operator's alert on one matches the others.
"""

import dataclasses
from importlib import metadata


@dataclasses.dataclass(frozen=True)
class Symbol:
    """``owner.name`` of an upstream project, and what goes without it.

    ``owner``: as the ERROR names it (a qualified class name where the
    class is named, not imported, its bare name where it is an instance's).
    """

    owner: str
    name: str
    feature: str

    def __str__(self):
        return f'{self.owner}.{self.name}'


def tell(log, project, missing):
    """Each of the ``missing`` symbols of ``project`` in one ERROR of
    ``log``'s, so that it carries the caller's logger name.

    ``project``: as its distribution is named, but for capitals
    (``Cinder``, ``oslo.messaging``).
    """
    for symbol in missing:
        log.error(
            '%(project)s %(release)s has no %(symbol)s: %(feature)s',
            {
                'project': project,
                'release': metadata.version(project.lower()),
                'symbol': symbol,
                'feature': symbol.feature,
            },
        )


def check(log, project, symbols, present):
    """The ``symbols`` of ``project`` for which ``present(symbol)`` is
    false, each told."""
    missing = [symbol for symbol in symbols if not present(symbol)]
    tell(log, project, missing)
    return missing
