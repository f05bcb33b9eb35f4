"""The one virtual host every ``vb`` command acts on, and broker URLs rewritten to name it.

An installation lives in one RabbitMQ vhost. It is given once: ``--vhost`` (or ``VBUS_VHOST``);
without it, the vhost the broker URL names (``amqp://user:pw@host:5672/VHOST``, percent-encoded);
without either, ``/``. A URL that names another vhost than ``--vhost`` is refused rather than
silently overridden: one of the two is a mistake. Every node of a failover URL (``;``-separated)
must name the same vhost.

Why rewrite the URL rather than pass the vhost beside it: pika and kombu read the vhost from the
URL path, and disagree on an empty one (pika reads ``amqp://h//`` as vhost ``""``, kombu as ``/``);
the rewritten URL always spells it out percent-encoded (``/%2F`` for ``/``), which both read alike.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

from vbcore.errors import ConfigurationError
from vbcore.tls import masked as masked  # ``url`` without its password, for messages: defined once

DEFAULT_VHOST = "/"




def url_vhost(url: str) -> str | None:
    """The vhost one broker URL names, or None when its path names none (empty or a bare ``/``)."""
    path = urlsplit(url).path
    if path in ("", "/"):
        return None
    return unquote(path[1:])


def resolve_vhost(broker_url: str, vhost: str | None) -> str:
    """The installation's vhost from ``--vhost`` and the broker URL (see the module docstring)."""
    nodes = [n.strip() for n in broker_url.split(";") if n.strip()]
    named = {v for v in (url_vhost(n) for n in nodes) if v is not None}
    if len(named) > 1:
        shown = ", ".join(sorted(named))
        raise ConfigurationError(
            f"the broker URL's nodes name different vhosts ({shown}): give the vhost once, with --vhost",
            vi=f"các nút trong địa chỉ máy chủ chuyển tin ghi các vhost khác nhau ({shown}): "
            "hãy chỉ ghi vhost một lần, bằng --vhost",
        )
    in_url = named.pop() if named else None
    if vhost is not None and in_url is not None and vhost != in_url:
        raise ConfigurationError(
            f"the broker URL names vhost {in_url!r} but --vhost (or VBUS_VHOST) says {vhost!r}: give the "
            "vhost once, with --vhost, and leave it out of the URL",
            vi=f"địa chỉ máy chủ chuyển tin ghi vhost {in_url!r} nhưng --vhost (hoặc VBUS_VHOST) ghi "
            f"{vhost!r}: hãy chỉ ghi vhost một lần, bằng --vhost, và bỏ nó khỏi địa chỉ",
        )
    return vhost if vhost is not None else in_url if in_url is not None else DEFAULT_VHOST


def with_vhost(broker_url: str, vhost: str) -> str:
    """``broker_url`` with every node's path set to ``vhost`` (percent-encoded, ``/`` as ``%2F``)."""
    nodes = [n.strip() for n in broker_url.split(";") if n.strip()]
    path = "/" + quote(vhost, safe="")
    return ";".join(urlunsplit(urlsplit(n)._replace(path=path)) for n in nodes)
