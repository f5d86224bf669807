"""The router's decision with the city's learned model, and the models: trained, stored, picked up.

:func:`route_complaint` decides for :func:`gateway.complaints.intake.file_complaint`: the keyword router alone
while learning is off or the newest model has fewer than ``router.learning.min_examples`` examples, else the
combined model (``router.learning.decide``); inactive agencies and out-of-scope terms still send it to review.

Each process keeps the model it loaded (:class:`ModelCache`) and asks the database for the newest version at
most every ``CHECK_SECONDS``: a worker picks up a model trained elsewhere without a restart.

``train``, ``dumps`` and ``loads`` are imported where a model is trained or loaded: they bring scikit-learn and
skops (over a second), which a process with no model (most ``sambat`` commands, a city that has not trained one)
never needs.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.complaints.learning import against_examples, counted_since, training_examples
from gateway.runtime import Runtime
from gateway.settings import Settings
from models import Agency, RouterModel, User
from models.user import AGENCY_ADMIN
from router.learning import LearnedDecision, LearningSettings, decide

CHECK_SECONDS = 10.0


@dataclass
class _Loaded:
    key: tuple[int, str] | None = None  # (model row id, version) of the loaded model
    model: Any = None
    checked: float = float("-inf")


class ModelCache:
    """The newest stored model of one database, loaded once per version, checked every ``check_seconds``."""

    def __init__(self, check_seconds: float = CHECK_SECONDS) -> None:
        self.check_seconds = check_seconds
        self._loaded: dict[str, _Loaded] = {}
        self._lock = threading.Lock()

    def current(self, session: Session, runtime: Runtime) -> Any:
        """Return the newest model (``router.learning.LearnedModel``) of the runtime's database, or None."""
        with self._lock:
            loaded = self._loaded.setdefault(runtime.db.url, _Loaded())
            if time.monotonic() - loaded.checked < self.check_seconds:
                return loaded.model
            newest = session.execute(select(RouterModel.id, RouterModel.version)
                                     .order_by(RouterModel.id.desc()).limit(1)).first()
            loaded.checked = time.monotonic()
            if newest is None:
                loaded.key, loaded.model = None, None
            elif loaded.key != tuple(newest):
                from router.learning import loads

                row = session.get(RouterModel, newest[0])
                loaded.model, loaded.key = loads(row.data, runtime.settings.routing), tuple(newest)
            return loaded.model

    def forget(self) -> None:
        """Drop every loaded model (the next call reads the database)."""
        with self._lock:
            self._loaded.clear()


models = ModelCache()


def staffed_agencies(session: Session) -> set[str]:
    """The codes of agencies with at least one active console user (an agency admin who can log in)."""
    return set(session.scalars(select(User.agency_code).where(User.active.is_(True), User.role == AGENCY_ADMIN,
                                                              User.agency_code.is_not(None)).distinct()))


ROSTER = "sambat.roster"  # session.info key: a batch of messages reads the roster once (messages.prepare_batch)


def roster(session: Session) -> tuple[set[str], set[str]]:
    """The active agencies, and those of them with at least one active agency admin, in one query (or as a batch
    of messages read it at its start)."""
    if ROSTER in session.info:
        return session.info[ROSTER]
    staffed = (select(User.id).where(User.agency_code == Agency.code, User.active.is_(True),
                                     User.role == AGENCY_ADMIN).exists())
    rows = session.execute(select(Agency.code, staffed).where(Agency.active.is_(True))).all()
    return {code for code, _ in rows}, {code for code, has_user in rows if has_user}


def unstaffed_agencies(session: Session) -> list[str]:
    """Active agencies nobody in the console works for: what goes there is read by no one."""
    active, staffed = roster(session)
    return sorted(active - staffed)


def route_complaint(session: Session, runtime: Runtime, text: str, active: set[str]) -> LearnedDecision:
    """Decide where a complaint goes among the ``active`` agencies (:func:`roster`): keywords alone, or with the
    city's model when it may decide."""
    settings: LearningSettings = runtime.settings.learning
    model = models.current(session, runtime) if settings.enabled else None
    return decide(text, runtime.settings.routing, model, settings, active=active)


def newest_model(session: Session) -> RouterModel | None:
    """The newest stored model row, or None."""
    return session.scalar(select(RouterModel).order_by(RouterModel.id.desc()).limit(1))


def retrain_due(session: Session, settings: LearningSettings) -> bool:
    """True when learning is on and ``retrain_every`` counted examples arrived since the newest model (with no
    model yet: when there are at least ``min_examples`` of them, and ``retrain_every``)."""
    if not settings.enabled:
        return False
    newest = newest_model(session)
    arrived = counted_since(session, newest.last_example_id if newest is not None else 0)
    if newest is None and arrived < settings.min_examples:
        return False
    return arrived >= settings.retrain_every


def train_and_store(session: Session, settings: Settings) -> tuple[RouterModel, bool]:
    """Train on every example in the database and store the model; the caller commits.

    Returns:
        The model row, and whether it is new (False: a model of exactly these examples was stored already).

    Raises:
        router.learning.LearningError: too few agencies among the examples.
    """
    from router.learning import dumps, train

    examples, last_id = training_examples(session)
    model = train(examples, settings.routing, settings.learning, against=against_examples(session))
    existing = session.scalar(select(RouterModel).where(RouterModel.version == model.version))
    if existing is not None:
        existing.last_example_id = max(existing.last_example_id, last_id)
        return existing, False
    row = RouterModel(version=model.version, example_count=model.example_count, last_example_id=last_id,
                      threshold=float(model.threshold),
                      figures=json.loads(json.dumps(model.metadata, default=float)), data=dumps(model))
    session.add(row)
    session.flush()
    return row, True
