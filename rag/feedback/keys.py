"""API keys for the chat desks: one per desk and set of brands, shown once, stored only as a hash.

A key reads `hsk_<id>_<secret>`. The id is public (it names the key in lists and logs); only a SHA-256 of the
whole key is stored, so a leaked database gives no usable key. Keys are random, so one fast hash is enough:
nothing can be guessed from it. Revoking is immediate: every request looks its key up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from rag.errors import BadInputError, NotFoundError
from rag.feedback.models import Base
from rag.feedback.store import iso, utcnow

PREFIX = "hsk_"
_KEY = re.compile(r"hsk_([0-9a-f]{8})_([A-Za-z0-9_-]{20,64})")
_DESK = re.compile(r"[\w.-][\w .-]{0,127}")


class ApiKeyRow(Base):
    """A desk's API key: who holds it, which brands it may serve, and its hash."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    desk: Mapped[str] = mapped_column(String(128), index=True)
    brands: Mapped[list] = mapped_column(JSON)
    key_hash: Mapped[str] = mapped_column(String(64))
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


@dataclass(frozen=True)
class ApiKey:
    """A key as the API sees it (never the secret)."""

    id: str
    desk: str
    brands: tuple[str, ...]
    rate_per_minute: int | None
    created_at: str
    revoked_at: str | None = None

    def allows(self, brand: str | None) -> bool:
        """Return whether this key may serve `brand`."""
        return brand in self.brands

    def to_dict(self) -> dict:
        """Return the key's public facts as a JSON-ready dict."""
        return {
            "id": self.id,
            "desk": self.desk,
            "brands": list(self.brands),
            "rate_per_minute": self.rate_per_minute,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _key(row) -> ApiKey:
    return ApiKey(
        id=row.id,
        desk=row.desk,
        brands=tuple(row.brands),
        rate_per_minute=row.rate_per_minute,
        created_at=iso(row.created_at),
        revoked_at=iso(row.revoked_at) if row.revoked_at else None,
    )


class ApiKeys:
    """Create, list, revoke and verify API keys in the feedback store's database."""

    def __init__(self, store):
        self.store = store

    def create(self, desk: str, brands: Sequence[str], *, rate_per_minute: int | None = None):
        """Store a new key for `desk` serving `brands`; return (ApiKey, the key itself, shown only now)."""
        desk = (desk or "").strip()
        if not _DESK.fullmatch(desk):
            raise BadInputError("坐席名（--desk）要 1-128 个字：字母、数字、汉字、空格、点、横线或下划线。")
        brands = tuple(dict.fromkeys(b.strip() for b in brands if b and b.strip()))
        if not brands:
            raise BadInputError("请用 --brands 指定这个密钥能服务的品牌，例如 --brands lanxu,jianyi。")
        if rate_per_minute is not None and rate_per_minute < 1:
            raise BadInputError("每分钟请求数（--rate）至少是 1。")
        key_id = secrets.token_hex(4)
        token = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        row = {
            "id": key_id,
            "desk": desk,
            "brands": list(brands),
            "key_hash": _hash(token),
            "rate_per_minute": rate_per_minute,
            "created_at": utcnow(),
            "revoked_at": None,
        }
        self.store._write(lambda conn: conn.execute(ApiKeyRow.__table__.insert().values(**row)))
        return _key(ApiKeyRow(**row)), token

    def list(self) -> list[ApiKey]:
        """Return every key, revoked ones too, oldest first."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(ApiKeyRow.__table__).order_by(ApiKeyRow.created_at)).all()
        return [_key(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id (revoking it again changes nothing); return it."""

        def work(conn):
            table = ApiKeyRow.__table__
            conn.execute(
                update(table)
                .where(table.c.id == key_id, table.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return conn.execute(select(table).where(table.c.id == key_id)).first()

        row = self.store._write(work)
        if row is None:
            raise NotFoundError(f"没有 id 为 {key_id!r} 的密钥；用 `huashu keys list` 查看现有密钥。")
        return _key(row)

    def verify(self, token: str | None) -> ApiKey | None:
        """Return the live key `token` is, or None (malformed, unknown, wrong secret or revoked)."""
        m = _KEY.fullmatch(token or "")
        if m is None:
            return None
        with self.store.engine.connect() as conn:
            row = conn.execute(select(ApiKeyRow.__table__).where(ApiKeyRow.id == m.group(1))).first()
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, _hash(token)):
            return None
        return _key(row)
