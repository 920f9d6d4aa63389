"""Brings a database made by an earlier version up to the current schema.

Only additive changes happen between versions (new nullable columns and their indexes), so a migration is
"add what is missing": older rows get NULL there, and the code treats NULL as "not known yet".
"""

from __future__ import annotations

import json

from sqlalchemy import MetaData, and_, inspect, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from trainers.spec.dataset_label import dataset_label
from trainers.spec.errors import StoreError
from trainers.store.config_key import config_key
from trainers.store.records import parse_json
from trainers.store.schema import EpochMetric, Trial


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


def fill_dataset_labels(session: Session) -> None:
    """Trials stored before dataset labels existed get theirs from their config; their config key is computed
    again too, because keys of that time also counted fields the config's choices do not read (a CSV path left
    in a digits config), which split repeats of one experiment."""
    rows = session.execute(select(Trial.id, Trial.config_json).where(Trial.dataset_label.is_(None))).all()
    for trial_id, config_json in rows:
        config = parse_json(config_json)
        values = {"dataset_label": dataset_label(config), "config_key": config_key(config)}
        session.execute(update(Trial).where(Trial.id == trial_id).values(**values))


def keep_best_epoch_numbers(session: Session) -> None:
    """Training trials stored when best_val_acc and best_val_loss were the highest accuracy and the lowest loss of
    any epoch get their best epoch's own numbers (that epoch's weights are the ones kept); the old accuracy stays
    in extra as the peak. Rows that already agree are not touched, so this costs one read on later opens."""
    e = EpochMetric
    rows = session.execute(
        select(Trial.id, Trial.best_val_acc, Trial.extra_json, e.val_acc, e.val_loss)
        .join(e, and_(e.trial_id == Trial.id, e.epoch == Trial.best_epoch))
        .where(
            Trial.kind == "train",
            or_(Trial.best_val_acc.is_distinct_from(e.val_acc), Trial.best_val_loss.is_distinct_from(e.val_loss)),
        )
    ).all()
    for trial_id, old_acc, extra_json, val_acc, val_loss in rows:
        extra = parse_json(extra_json)
        if old_acc is not None:
            extra.setdefault("peak_val_acc", old_acc)
        session.execute(
            update(Trial)
            .where(Trial.id == trial_id)
            .values(best_val_acc=val_acc, best_val_loss=val_loss, extra_json=json.dumps(extra))
        )
