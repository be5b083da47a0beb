"""What a driver family provides: read this to count a family of drivers.

``store.metered`` meters a driver's data where the driver moves it, and
each family of drivers moves it its own way, so each has a module of its
own (``chunked``, ``ceph``), listed in ``store.FAMILIES``. Such a module
is a ``DriverFamily``: the driver class it is for, the methods of it that
it replaces (in the upstream inventory, checked when cinder-backup
starts), and ``hooks``, the replacements for one operation. Its hooks
see the operation as an ``Operation``, count into ``Counts``, and hand
a transfer that passes no volume file through cinder-backup to the
operation's progress as a ``Transfer``. A hook that cannot count costs
the figures, never the backup: nothing it does may raise into the
driver's call but what the driver's own method raised.
"""

from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable

from ceilometer_backup.upstream import Symbol


@runtime_checkable
class Transfer(Protocol):
    """Data moving outside the volume file (an ``rbd export-diff |
    import-diff``), asked how far it got at each progress report."""

    def sample(self) -> tuple[int, int | None]:
        """``(bytes moved, bytes it will move)``, the latter None while
        unknown; never raises."""


@runtime_checkable
class Operation(Protocol):
    """What a family's hooks may read and call of the operation."""

    #: The backup's id, for log lines.
    backup_id: str
    #: ``contract.CREATE``, ``RESTORE`` or ``DELETE``.
    operation: str

    def watch(self, transfer: Transfer) -> None:
        """Progress from ``transfer`` until ``unwatch``."""

    def unwatch(self, completed: bool = True) -> None:
        """The transfer is over; if it did not complete, its figures are
        taken back."""


class Counts(Protocol):
    """The backup's figures, counted by the hooks (``store.StoreCounts``).

    None until a hook counts: a figure nobody counted is not sent.
    """

    stored_bytes: int | None
    changed_bytes: int | None

    def writer(self, writer):
        """``writer``, counting what is written into it as stored."""

    def add(self, stored_bytes: int, changed_bytes: int) -> None:
        """Count these (0, 0 to start counting)."""


@runtime_checkable
class DriverFamily(Protocol):
    """A module counting one family of Cinder's backup drivers."""

    #: The qualified name of the family's driver class, named, not
    #: imported (Cinder's Ceph driver needs rados).
    DRIVER: str
    #: Its methods the hooks replace, and what goes without each: listed
    #: in ``upstream.cinder`` and checked when cinder-backup starts.
    PRIVATE: tuple[Symbol, ...]

    def hooks(
        self, driver, counts: Counts, op: Operation
    ) -> Mapping[str, Callable]:
        """Method name -> what replaces it on ``driver`` (this operation's
        instance) for the operation, built on the driver's own methods,
        looked up now: those of them ``driver`` has, if it is one the
        family counts; none for any other driver."""


def lineage(driver_class):
    """The qualified names of ``driver_class`` and its bases, to match a
    family's ``DRIVER``."""
    return {f'{c.__module__}.{c.__qualname__}' for c in driver_class.__mro__}
