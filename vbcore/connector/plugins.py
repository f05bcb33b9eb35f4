"""Finding connector plugins: entry points of group ``vbus.connectors``, checked when they load.

As pytest does with pluggy, a plugin is checked when it is loaded, not at its first call: it must be a
subclass of ``vbcore.connector.Connector`` with every abstract method implemented and ``name`` and
``version`` set. Anything wrong raises ``ConnectorLoadError`` naming the plugin, its distribution and
the problem, so ``vb connectors list`` can show a broken plugin next to the working ones.

A distribution declares its connector in its ``pyproject.toml``::

    [project.entry-points."vbus.connectors"]
    mydms = "mydms_vbus:MyDmsConnector"
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from vbcore.connector import Connector
from vbcore.connector.gateway import GROUP as GATEWAY_GROUP
from vbcore.connector.gateway import Gateway
from vbcore.errors import ConnectorLoadError

GROUP = "vbus.connectors"
# Hooks of vbus 0.1 that ``on_change`` replaced: a plugin defining one would be silently ignored.
REMOVED_HOOKS = ("on_revoke", "on_update", "on_replace")


@dataclass(frozen=True)
class PluginInfo:
    """One entry point, loaded or not: what ``vb connectors list`` prints."""

    name: str  # the entry point's name (what ``vb connector run NAME`` takes)
    distribution: str  # the installed distribution that declares it
    version: str  # the connector's version, or the distribution's when it could not load
    module: str
    connector: type[Connector] | None
    error: str | None  # None when the plugin loaded and passed the checks

    @property
    def ok(self) -> bool:
        return self.error is None


def _distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "?", "?"
    return dist.name, dist.version


def check_connector_class(obj: object, label: str) -> type[Connector]:
    """Return ``obj`` as a connector class, or raise ``ConnectorLoadError`` saying what is wrong."""
    if not (inspect.isclass(obj) and issubclass(obj, Connector)):
        raise ConnectorLoadError(f"{label}: {obj!r} is not a subclass of vbcore.connector.Connector")
    missing = sorted(getattr(obj, "__abstractmethods__", ()))
    if missing:
        raise ConnectorLoadError(f"{label}: {obj.__name__} does not implement {', '.join(missing)}")
    for old in REMOVED_HOOKS:
        if any(old in vars(cls) for cls in obj.__mro__):
            raise ConnectorLoadError(
                f"{label}: {obj.__name__} defines {old}, which vbus no longer calls: on_revoke, on_update "
                "and on_replace became one on_change(request), request.kind says which (see the CHANGELOG)"
            )
    for attr in ("name", "version"):
        value = getattr(obj, attr, None)
        if not isinstance(value, str) or not value.strip():
            raise ConnectorLoadError(f"{label}: {obj.__name__}.{attr} must be a non-empty string")
    return obj


def load_entry_point(ep: EntryPoint) -> type[Connector]:
    """Import one entry point and check it; ``ConnectorLoadError`` names plugin, distribution, problem."""
    dist, dist_version = _distribution(ep)
    label = f"connector plugin {ep.name!r} (distribution {dist} {dist_version}, {ep.value})"
    try:
        obj = ep.load()
    except Exception as exc:  # any import failure of foreign code is reported, not raised raw
        raise ConnectorLoadError(f"{label}: cannot be imported: {type(exc).__name__}: {exc}") from exc
    return check_connector_class(obj, label)


def _entry_points() -> list[EntryPoint]:
    # Several installs of one distribution (editable + site) can list an entry point twice.
    seen: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        seen.setdefault(ep.name, ep)
    return sorted(seen.values(), key=lambda e: e.name)


def discover() -> list[PluginInfo]:
    """Every installed connector plugin, loaded and checked; broken ones carry their ``error``."""
    infos = []
    for ep in _entry_points():
        dist, dist_version = _distribution(ep)
        try:
            cls = load_entry_point(ep)
        except ConnectorLoadError as exc:
            infos.append(PluginInfo(ep.name, dist, dist_version, ep.module, None, str(exc)))
            continue
        infos.append(PluginInfo(ep.name, dist, cls.version, ep.module, cls, None))
    return infos


def load_connector(name: str) -> type[Connector]:
    """The connector class registered as ``name``; ``ConnectorLoadError`` if absent or broken."""
    for ep in _entry_points():
        if ep.name == name:
            return load_entry_point(ep)
    known = ", ".join(ep.name for ep in _entry_points()) or "none"
    raise ConnectorLoadError(f"no connector plugin named {name!r} is installed (installed: {known})")


# --- gateway plugins (``vbcore.connector.gateway``): entry-point group ``vbus.gateways`` -------------


def load_gateway(name: str) -> type[Gateway]:
    """The gateway class registered as ``name``, checked as connectors are (a subclass of ``Gateway``,
    every abstract method implemented, ``name`` and ``version`` set); ``ConnectorLoadError`` if absent
    or broken."""
    found = {ep.name: ep for ep in entry_points(group=GATEWAY_GROUP)}
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise ConnectorLoadError(f"no gateway plugin named {name!r} is installed (installed: {known})")
    ep = found[name]
    dist, dist_version = _distribution(ep)
    label = f"gateway plugin {name!r} (distribution {dist} {dist_version}, {ep.value})"
    try:
        obj = ep.load()
    except Exception as exc:  # foreign code: any import failure is reported, not raised raw
        raise ConnectorLoadError(f"{label}: cannot be imported: {type(exc).__name__}: {exc}") from exc
    if not (inspect.isclass(obj) and issubclass(obj, Gateway)):
        raise ConnectorLoadError(f"{label}: {obj!r} is not a subclass of vbcore.connector.gateway.Gateway")
    missing = sorted(getattr(obj, "__abstractmethods__", ()))
    if missing:
        raise ConnectorLoadError(f"{label}: {obj.__name__} does not implement {', '.join(missing)}")
    for attr in ("name", "version"):
        if not isinstance(getattr(obj, attr, None), str) or not getattr(obj, attr).strip():
            raise ConnectorLoadError(f"{label}: {obj.__name__}.{attr} must be a non-empty string")
    return obj
