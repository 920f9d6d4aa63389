"""Brings a database made by an earlier version up to the current schema.

Only additive changes happen between versions (new nullable columns and their indexes), so a migration is
"add what is missing": older rows get NULL there, and the code treats NULL as "not known yet".
"""

from __future__ import annotations

from sqlalchemy import MetaData, inspect, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from trainers.spec.errors import StoreError
from trainers.store.config_key import config_key
from trainers.store.records import parse_json
from trainers.store.schema import Trial


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """Add every column the tables lack (with its index); returns "table.column" for each one added."""
    added: list[str] = []
    inspector = inspect(engine)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c for c in table.columns if c.name not in present]
        if not missing:
            continue
        preparer = engine.dialect.identifier_preparer
        with engine.begin() as conn:
            for column in missing:
                if not column.nullable:
                    raise StoreError(f"cannot add the required column {table.name}.{column.name} to old rows")
                kind = column.type.compile(dialect=engine.dialect)
                conn.execute(
                    text(f"ALTER TABLE {preparer.quote(table.name)} ADD COLUMN {preparer.quote(column.name)} {kind}")
                )
                added.append(f"{table.name}.{column.name}")
        for index in table.indexes:
            if any(c.name in {m.name for m in missing} for c in index.columns):
                index.create(engine, checkfirst=True)
    return added


def fill_config_keys(session: Session) -> None:
    """Trials stored before config keys existed get theirs, so their repeats group with newer ones."""
    rows = session.execute(select(Trial.id, Trial.config_json).where(Trial.config_key.is_(None))).all()
    for trial_id, config_json in rows:
        key = config_key(parse_json(config_json))
        session.execute(update(Trial).where(Trial.id == trial_id).values(config_key=key))
