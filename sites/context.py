"""Who changed something, and why, for saves that start config publishing.

Views, the admin and tasks wrap their writes in `change_context(...)`; a save
from anywhere else (the shell, a migration) is recorded as "system".
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    actor: object = None  # a User, or None for "system"
    reason: str = ""


_current: ContextVar[Change] = ContextVar("gatehouse_change", default=Change())


@contextmanager
def change_context(*, actor=None, reason: str = ""):
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    token = _current.set(Change(actor=actor, reason=reason))
    try:
        yield
    finally:
        _current.reset(token)


def current_change() -> Change:
    return _current.get()
