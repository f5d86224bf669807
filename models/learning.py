"""What the router learns from: labelled examples from the city's practice, and the models trained on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, utcnow

# Where an example came from.
ARCHIVE, ASSIGNMENT, ACCEPTANCE = "archive", "assignment", "acceptance"
EXAMPLE_SOURCES = (ARCHIVE, ASSIGNMENT, ACCEPTANCE)
# What it says of its agency: the complaint belongs there, or (a bounce, "bukan wewenang") it does not.
FOR, AGAINST = "for", "against"


class RoutingExample(Base):
    """One labelled complaint: evidence for (or against) an agency, from the archive or from practice.

    ``dedupe_key`` makes every recording idempotent: ``archive:<content hash>`` for an archive row (the same
    text and agency imported twice is one row), ``<source>:<complaint id>:<agency>`` for a complaint's
    acceptance or assignment, ``against:<complaint id>:<agency>`` for a bounce. Only rows with ``counted``
    are trained on: a super-admin's assignment waits (``counted`` false) until the agency acknowledges or
    resolves it, and a bounce withdraws the complaint's evidence for the agency that sent it back.
    """

    __tablename__ = "routing_examples"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    source: Mapped[str] = mapped_column(String(12), index=True)
    stance: Mapped[str] = mapped_column(String(8), default=FOR)
    agency_code: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # The complaint's ticket code (shown as a similar past complaint), or "line N" of an archive.
    ref: Mapped[str] = mapped_column(String(64), default="")
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<RoutingExample {self.id} {self.source} {self.stance} {self.agency_code}>"


class RouterModel(Base):
    """One trained model: its version, what it was trained on, its cross-validated figures and its bytes.

    ``last_example_id`` is the newest example it saw, so the scheduler counts the examples that arrived since.
    ``data`` is the model in skops format (``router.learning.dumps``), never a bare pickle.
    """

    __tablename__ = "router_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    example_count: Mapped[int] = mapped_column(Integer)
    last_example_id: Mapped[int] = mapped_column(Integer, default=0)
    threshold: Mapped[float] = mapped_column(Float)
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    def __repr__(self) -> str:
        return f"<RouterModel {self.version} ({self.example_count} examples)>"
