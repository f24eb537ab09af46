"""Networks and trigger kinds shipped by other installed packages, found by entry point.

A package adds a network by naming its `NetworkAdapter` in the `hashcart.networks` group of
its metadata, and a trigger kind by naming a `(TriggerKind, handler)` pair in the
`hashcart.kinds` group (pyproject.toml of the plugin):

    [project.entry-points."hashcart.networks"]
    acme = "hashcart_acme.adapter:ADAPTER"

    [project.entry-points."hashcart.kinds"]
    sample = "hashcart_acme.sample:KIND"

`load_plugins` registers them after the built-in networks and kinds (so the built-in ones
keep their place in every list), each exactly as the built-in ones are registered
(`networks.registry.register`, `services.handlers.register`). A plugin that cannot be loaded
(its module fails to import, its object is not what the group takes, its name is taken) is
reported in one WARNING line naming it, and the others still load: a broken add-on must not
stop the shop.

The composition root (bootstrap) loads them when it is imported; the command line also
loads them before it builds `ingest --format`'s choices, ahead of bootstrap. Start-up is
every command's cost, so both first ask `installed()`, a look at the installed packages'
metadata files (about 1 ms, against about 6 ms for importlib.metadata's two lookups), and
go on only when a package declares a hashcart group. A package installed as a zip file on
`sys.path` (an old zipped egg) is not looked into: pip installs unpacked.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = ["KINDS", "NETWORKS", "PluginFailure", "installed", "load_plugins"]

NETWORKS = "hashcart.networks"
KINDS = "hashcart.kinds"

log = logging.getLogger("hashcart.plugins")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that was not loaded, and why (the exception, in one line)."""

    group: str
    name: str
    value: str  # where the entry point points: "module:attribute"
    reason: str

    def __str__(self) -> str:
        return f"plugin {self.name!r} ({self.group} = {self.value}) not loaded: {self.reason}"


# Entry points already handled in this process, loaded or failed, by (group, name, value):
# bootstrap and the command line may both ask, and a broken plugin is reported once.
_handled: set[tuple[str, str, str]] = set()
# Set while plugins load: a plugin's module that imports bootstrap (which loads plugins)
# must not start loading them again, and find itself half imported.
_loading = False


def load_plugins() -> list[PluginFailure]:
    """Register every installed plugin not registered yet, after the built-in networks and
    kinds; the ones that failed, each also logged at WARNING. Called again while loading
    (a plugin importing bootstrap), it does nothing: the first call goes on."""
    global _loading
    if _loading or not installed():  # the look costs ~1 ms; asking importlib.metadata ~6 ms
        return []
    _loading = True
    try:
        return _load()
    finally:
        _loading = False


def _load() -> list[PluginFailure]:
    import hashcart.networks.builtin  # noqa: F401 (the built-in networks first)

    failures: list[PluginFailure] = []
    for group, register in ((NETWORKS, _register_network), (KINDS, _register_kind)):
        for entry in _entry_points(group):
            key = (group, entry.name, entry.value)
            if key in _handled:
                continue
            _handled.add(key)
            try:
                register(entry.load())
            except Exception as error:  # any failure of a stranger's code: report, go on
                _report(PluginFailure(group, entry.name, entry.value, _one_line(error)), failures)
    return failures


def _report(failure: PluginFailure, failures: list[PluginFailure]) -> None:
    failures.append(failure)
    log.warning("hashcart: %s", failure)


def _entry_points(group: str) -> tuple[EntryPoint, ...]:
    # A malformed entry_points.txt in any installed package (a line without '=', bytes
    # that are not UTF-8) makes importlib.metadata raise for every group; pydantic asks it
    # for its own plugins before anything of hashcart runs, so such a machine fails there
    # first, and no guard here could help.
    from importlib.metadata import entry_points

    return tuple(entry_points(group=group))


def _register_network(found: Any) -> None:
    from hashcart.networks import registry
    from hashcart.networks.base import NetworkAdapter

    if not isinstance(found, NetworkAdapter):
        raise TypeError(f"it names a {type(found).__name__}, not a NetworkAdapter")
    registry.register(found)


def _register_kind(found: Any) -> None:
    from hashcart.domain.kinds import TriggerKind
    from hashcart.services import handlers

    if not (isinstance(found, tuple) and len(found) == 2 and isinstance(found[0], TriggerKind)):
        raise TypeError(f"it names a {type(found).__name__}, not a (TriggerKind, handler) pair")
    kind, handler = found
    handlers.register(kind, handler)


def _one_line(error: BaseException) -> str:
    said = " ".join(str(error).split())
    return f"{type(error).__name__}: {said}" if said else type(error).__name__


def installed() -> bool:
    """Whether an installed package may declare a hashcart plugin: a `[hashcart.` section in
    the `entry_points.txt` of a `*.dist-info` or `*.egg-info` directory on `sys.path`, where
    importlib.metadata finds them. Only a hint, cheap enough for every command's start
    (importlib.metadata itself costs about 20 ms to import); `load_plugins` decides."""
    for directory in sys.path:
        try:
            entries = os.scandir(directory or ".")
        except OSError:  # gone, not a directory, or a zip file (not searched here)
            continue
        with entries:
            for entry in entries:
                if entry.name.endswith((".dist-info", ".egg-info")) and _declares(entry.path):
                    return True
    return False


def _declares(metadata_directory: str) -> bool:
    try:
        with open(os.path.join(metadata_directory, "entry_points.txt"), "rb") as found:
            return b"[hashcart." in found.read()
    except OSError:
        return False
