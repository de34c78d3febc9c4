"""Alembic environment: kmcomms passes the connection in (see `kmcomms.ledger.store`)."""

from alembic import context

from kmcomms.ledger.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
