"""The artifacts table: files that belong to a trial (checkpoints, ensemble files) kept in the database itself, in
chunks, so any host that can open the store can read them with nothing but its URL.

Chunks of CHUNK_BYTES keep every value a PostgreSQL bytea or an SQLite blob handles comfortably, and let a reader
hold one chunk in memory at a time. Every chunk row repeats the whole file's size, sha256 and chunk count, so a
reader learns them from chunk 0 alone. A database made before this table existed gains it when a writable open runs
create_all (trainers/store/database.py); a read-only open of such a database reads it as holding no artifacts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from trainers.store.schema import Base

CHUNK_BYTES = 4 * 1024 * 1024


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint("trial_id", "name", "chunk_index"),
        # absent in a store made by an earlier version: a read-only open treats that as "no artifacts yet"
        {"info": {"optional_for_reading": True}},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))  # "best.pt", "last.pt", "ensemble.tlens"
    chunk_index: Mapped[int]
    chunk_count: Mapped[int]
    size: Mapped[int] = mapped_column(BigInteger)  # of the whole file
    sha256: Mapped[str] = mapped_column(String(64))  # of the whole file
    created_at: Mapped[datetime]
    data: Mapped[bytes] = mapped_column(LargeBinary)


# Weights barely compress: PostgreSQL's attempt to compress each chunk only costs time (measured: a 40 MB insert
# takes 1.8 s with it, 1.1 s without), so chunks are stored out of line uncompressed.
event.listen(
    Artifact.__table__,
    "after_create",
    DDL("ALTER TABLE artifacts ALTER COLUMN data SET STORAGE EXTERNAL").execute_if(dialect="postgresql"),
)
