"""Backups put straight into Cinder's database, many at a time.

Making 100 000 backups through cinder-backup would take hours; the API
lists rows, so rows are what the listing tests and benchmark 3 need. Run
in the Cinder virtualenv (``Cinder.put_backups``), with Cinder's own
configuration, models and database engine::

    python cinder_database.py CINDER_CONF PROJECT COUNT FIRST

inserts COUNT available backups of PROJECT named ``listed-FIRST`` on, of
1 to 5 GiB (``size_of``), and prints their ids, one a line; with COUNT
``remove``, marks every such backup of PROJECT deleted, as Cinder does
(a row soft-deleted), at once: deleting hundreds through cinder-backup
takes minutes.
"""

import sys
import uuid

BATCH = 5000


def size_of(n):
    """The size in GiB of the ``n``-th listed backup."""
    return 1 + n % 5


def _database(conf_file):
    """Cinder's database API and models, configured by ``conf_file``."""
    from cinder import objects
    from oslo_config import cfg

    objects.register_all()
    cfg.CONF(['--config-file', conf_file], project='cinder')
    try:
        from cinder.db import api, models
    except ImportError:
        # Older Cinders (2025.1's 26 too): the models are in
        # cinder.db.sqlalchemy, whose engine reads cfg.CONF's [database]
        # when first used.
        from cinder.db.sqlalchemy import api, models
    else:
        api.configure(cfg.CONF)
    return api, models


def remove(conf_file, project_id):
    import datetime

    api, models = _database(conf_file)
    table = models.Backup.__table__
    listed = table.c.project_id == project_id, table.c.user_id == 'listed'
    with api.get_engine().begin() as connection:
        connection.execute(
            table.update()
            .where(*listed, table.c.deleted.is_(False))
            .values(
                deleted=True,
                status='deleted',
                # Naive UTC, as Cinder's timeutils.utcnow().
                deleted_at=datetime.datetime.now(
                    datetime.timezone.utc
                ).replace(tzinfo=None),
            )
        )


def main(conf_file, project_id, count, first):
    api, models = _database(conf_file)
    rows = []
    for n in range(first, first + count):
        backup_id = str(uuid.uuid4())
        rows.append(
            {
                'id': backup_id,
                'project_id': project_id,
                'user_id': 'listed',
                'volume_id': backup_id,
                'host': 'stack',
                'status': 'available',
                'size': size_of(n),
                'display_name': f'listed-{n}',
                'availability_zone': 'nova',
                'container': 'listed',
            }
        )
    insert = models.Backup.__table__.insert()
    with api.get_engine().begin() as connection:
        for start in range(0, len(rows), BATCH):
            connection.execute(insert, rows[start : start + BATCH])
    for row in rows:
        print(row['id'])


if __name__ == '__main__':
    conf_file, project_id, count, first = sys.argv[1:]
    if count == 'remove':
        remove(conf_file, project_id)
    else:
        main(conf_file, project_id, int(count), int(first))
