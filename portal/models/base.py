"""Declarative base, column types and mixins shared by every model.

Two types exist because the embedded default is SQLite:

* ``Money``/``Quantity`` are exact decimals. PostgreSQL stores them as ``NUMERIC``;
  SQLite has no exact numeric type, so there they are scaled integers (``BIGINT`` of
  10^-4 units), which keeps sums and comparisons exact in SQL too.
* ``UTCDateTime`` takes and returns timezone-aware datetimes and stores UTC
  (``timestamptz`` on PostgreSQL, naive UTC text on SQLite).
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ExactDecimal(TypeDecorator):
    """A decimal that never passes through a float, on either database."""

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int = 20, scale: int = 4):
        super().__init__()
        self.precision = precision
        self.scale = scale
        self._factor = Decimal(10) ** scale
        self._quantum = Decimal(1).scaleb(-scale)

    def __repr__(self) -> str:
        return f"ExactDecimal(precision={self.precision}, scale={self.scale})"

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(self._quantum)
        if dialect.name == "sqlite":
            return int(value * self._factor)
        return value

    def result_processor(self, dialect, coltype):
        if dialect.name == "postgresql":
            # psycopg reads a numeric(p, s) column as a Decimal of s places already: a
            # list of invoices is spared three calls a row.
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / self._factor).quantize(self._quantum)
        return Decimal(value).quantize(self._quantum)

    def coerce_compared_value(self, op, value):
        return self


Money = ExactDecimal  # money amounts: 4 decimal places, quantised to the currency in services


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetime stored in UTC; naive values are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def __repr__(self) -> str:
        return "UTCDateTime()"

    @property
    def python_type(self) -> type:
        # What the API's cursors decode a time back into: without it a cursor's time was
        # bound as text, which SQLite compares as text ('T' after ' '), repeating a page.
        return datetime

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times as timezone-aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect, coltype):
        if dialect.name == "postgresql":
            # The portal's connections speak UTC (``portal.database``): psycopg reads a
            # timestamptz as an aware datetime in UTC already.
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def str_enum(enum_cls: type[enum.Enum], length: int = 32, name: str | None = None) -> sa.Enum:
    """Store an enum by value in a VARCHAR with a CHECK constraint (portable, readable).
    ``name`` names the constraint when a table has two columns of one enum."""
    return sa.Enum(
        enum_cls,
        name=name or enum_cls.__name__.lower(),
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: ExactDecimal(),
        dict[str, Any]: sa.JSON(),
        dict[str, str]: sa.JSON(),
        list[str]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AccountOwned:
    """A row that belongs to one client account.

    Every ORM load, update and delete of such a row is filtered to the caller's
    accounts by ``portal.security`` (see ``install_scoping``); nothing else may load
    them. Child rows carry ``account_id`` too, so the one filter covers them and
    PostgreSQL row-level security could be added as a second wall.

    Within its own account, a client user may not see everything: the firm's drafts
    and internal notes. A model with such rows says which a client sees with a
    ``client_visible`` hybrid (a bool on a row, a SQL condition on the class), and the
    same filter applies it to every statement of a client user: a hidden row answers
    404 like another account's.
    """

    @declared_attr
    def account_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True)


class InternalNote:
    """A remark the firm may keep to itself (``internal``: a request's internal note, a
    plan reviewer's internal remark): the ``client_visible`` policy hides it from client
    users, who never load it."""

    internal: Mapped[bool] = mapped_column(default=False)

    @hybrid_property
    def client_visible(self) -> bool:
        return not self.internal

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        return cls.internal.is_(False)


class FirmOnly:
    """An account's row that only the firm sees (its working notes on the client's
    people): the ``client_visible`` policy hides every such row from client users."""

    @hybrid_property
    def client_visible(self) -> bool:
        return False

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        return sa.false()
