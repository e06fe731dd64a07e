"""What every repository shares: one session factory over the engine, the clock, and the conditional write."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, Select, delete, update
from sqlalchemy.orm import Session, sessionmaker

from ._tables import Base

T = TypeVar("T")
R = TypeVar("R", bound=Base)

DELETE: Final = None  # as the `values` of compare_and_set: remove the row instead of changing it


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    more: bool  # whether records follow this page


class Database:
    def __init__(self, engine: Engine):
        self.engine = engine
        # Records are read after the commit that wrote them (a repository returns what it inserted): not expired.
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


def utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def compare_and_set(
    session: Session, table: type[Base], where: ColumnElement[bool], values: Mapping[str, Any] | None
) -> bool:
    """Write `values` to the rows of `table` that `where` matches (delete them when `values` is DELETE), in one
    statement; False when none matched. `where` holds what the caller read (a status, an attempt, an eTag), so that a
    change made in between makes the write miss instead of being overwritten."""
    statement = delete(table) if values is DELETE else update(table).values(**values)
    # An UPDATE or a DELETE runs through a cursor: its result has a rowcount, which Session.execute's type omits.
    return cast(CursorResult, session.execute(statement.where(where))).rowcount > 0


def page(session: Session, query: Select[R], skip: int, top: int, record: Callable[[R], T]) -> Page[T]:
    """Records `skip` to `skip + top` of `query` (which sets the order); one row more than asked says whether more
    follow."""
    rows = session.scalars(query.offset(skip).limit(top + 1)).all()
    return Page([record(r) for r in rows[:top]], more=len(rows) > top)
