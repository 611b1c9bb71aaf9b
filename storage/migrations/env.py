"""Alembic environment for the catalogue.

sohoa runs the migrations itself when it opens a catalogue (``storage.catalogue.migrate``),
passing its connection in ``config.attributes["connection"]``; ``alembic -c
storage/alembic.ini upgrade head`` works too, with ``SOHOA_DATABASE_URL`` or ``-x url=…``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from storage.catalogue import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get(
        "SOHOA_DATABASE_URL"
    )
    if not url:
        raise SystemExit("set SOHOA_DATABASE_URL or pass -x url=… to migrate a catalogue")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        with create_engine(url).connect() as conn:
            _run(conn)
            conn.commit()
