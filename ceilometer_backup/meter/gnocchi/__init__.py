"""Gnocchi, on the meter side, in one room: the ``volume_backup`` schema,
the ``backup-gnocchi://`` publisher (its resource side and its outbox),
and the stored sizes read back for the pollster. A change to what a
backup is in Gnocchi is made here and read by every side alike.
"""
