"""Who changed something, and why, for saves that start config publishing; and which chain it is part of.

Views, the admin and tasks wrap their writes in `change_context(...)`; a save
from anywhere else (the shell, a migration) is recorded as "system".

A chain is one action and everything it sets off: the request that starts
it, the deployment it records, that deployment's steps in the worker, the
config revisions they publish. Its id is written on every Activity row (and
on the Deployment), so the Activity page shows each action once without
guessing which rows belong together. The outermost `change_context` (or a
deployment start) begins one; a Deployment keeps it for its runs; a task sent
through `sites.enqueue` carries it in a message header.
"""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    actor: object = None  # a User, or None for "system"
    reason: str = ""


_current: ContextVar[Change] = ContextVar("gatehouse_change", default=Change())
_chain: ContextVar[str] = ContextVar("gatehouse_chain", default="")

# The message header a task's chain id travels in (sites.enqueue sets it, sites.tasks reads it).
CHAIN_HEADER = "gatehouse_chain"


@contextmanager
def chain(chain_id: str = ""):
    """Rows recorded inside belong to chain `chain_id`; without one, the current chain, or a new one."""
    value = chain_id or _chain.get() or uuid.uuid4().hex
    token = _chain.set(value)
    try:
        yield value
    finally:
        _chain.reset(token)


def current_chain() -> str:
    """The current chain's id, "" outside any."""
    return _chain.get()


def chain_adopt(chain_id: str) -> None:
    """Set the chain a task's message carried (a worker runs one task at a time per process)."""
    _chain.set(chain_id or "")


@contextmanager
def change_context(*, actor=None, reason: str = ""):
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    token = _current.set(Change(actor=actor, reason=reason))
    try:
        with chain():
            yield
    finally:
        _current.reset(token)


def current_change() -> Change:
    return _current.get()


# The API token of the request being served (sites.api.auth sets it), so
# Activity rows name it: "ada's token 'CI'".
_token: ContextVar[int | None] = ContextVar("gatehouse_token", default=None)


@contextmanager
def token_context(token_id: int | None):
    token = _token.set(token_id)
    try:
        yield
    finally:
        _token.reset(token)


def token_set(token_id: int | None) -> None:
    """For the length of one API request (the authentication class sets it, the view's finaliser clears it)."""
    _token.set(token_id)


def current_token_id() -> int | None:
    return _token.get()
