"""What the composition root offers the parts that run beside it (the dispatcher, the
listeners, OAuth linking, a network's wiring): the database engine and its unit of work, the
clock, the settings as loaded and as in force, the shop account's sealed network sessions,
and the network senders the dispatcher is given.

bootstrap.App is one, built once; the parts type against this Protocol, so none of them
imports bootstrap (the layers contract in pyproject keeps it so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from hashcart.ports import UnitOfWork

if TYPE_CHECKING:
    from pydantic import BaseModel
    from sqlalchemy import Engine

    from hashcart.config import Settings
    from hashcart.ports import Clock, SealedSessions, Sender


ModelT = TypeVar("ModelT", bound="BaseModel")


class Host(Protocol):
    @property
    def settings(self) -> Settings:
        """The settings as loaded (file and environment)."""
        ...

    @property
    def engine(self) -> Engine: ...

    @property
    def clock(self) -> Clock: ...

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork:
        """A fresh unit of work on this database: the one way to write (ports.UnitsOfWork);
        `read_only` for one that only reads (it refuses writes and never waits for a writer)."""
        ...

    def effective_settings(self) -> Settings:
        """The settings in force: the file's, with the console's on top (re-read)."""
        ...

    def network_settings(self, model: type[ModelT]) -> ModelT:
        """A network's settings model with the values in force (networks/base.NetworkHost)."""
        ...

    def sealed_sessions(self) -> SealedSessions: ...

    # --- the outbox's senders -----------------------------------------------------------

    def network_senders(self) -> dict[str, Sender]:
        """The network senders the settings in force configure, by outbox network (email is
        the dispatcher's own): how the composition root hands the dispatcher its senders."""
        ...
