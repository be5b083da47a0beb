"""cloudkitty-dbsync, run with CloudKitty's virtualenv's Python::

    python cloudkitty_dbsync.py --config-file CONF upgrade

With one change: the data steps of the migrations 8a591f85865f (hashmap)
and c6e4cda29654 (pyscripts) run on the migration's own connection.
Upstream runs them in a session on another connection, which on SQLite
does not see the table the migration has just rebuilt (its DDL is not
committed yet): "no such column: hashmap_mappings.created_at". MySQL
commits DDL at once, so there they work as they are.
"""

import contextlib
import sys

from alembic import op
from cloudkitty import db
from sqlalchemy import orm

session_for_write = db.session_for_write


@contextlib.contextmanager
def on_migration_connection():
    try:
        bind = op.get_bind()
    except (NameError, AttributeError):  # not in a migration: no op proxy
        with session_for_write() as session:
            yield session
        return
    with orm.Session(bind=bind) as session:
        yield session
        session.flush()


db.session_for_write = on_migration_connection

from cloudkitty.cli import dbsync  # noqa: E402

sys.argv[0] = 'cloudkitty-dbsync'
dbsync.main()
