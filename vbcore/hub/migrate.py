"""``vb hub migrate``: move a vbus 0.1 installation to this topology, once, with every hub stopped.

Queue arguments cannot change on an existing queue, so what changed gets new queues and is moved:

- The ingress queue is ``{prefix}.hub.incoming``, without broker dead-lettering (what agencies
  publish must never reach RabbitMQ's dead-letter worker). The old ``{prefix}.hub.ingress`` is
  unbound from the ingress exchange; what it holds is replayed to the new queue as the hub user,
  each message carrying the broker-validated user that published it (``x-vbus-original-user``,
  what ``vb parked replay`` does), so the hub checks it as if its agency had just sent it; one that
  came without ``user_id`` stays refused (``sender-unknown``). The old queue is deleted once empty.
- Each inbox is ``{prefix}.inbox.{code}.{token}`` (``names.inbox_token``: another agency cannot
  derive it). The old ``{prefix}.inbox.{code}`` is unbound; its messages (the hub's own, with the
  hub's headers) are moved to the new inbox, it is deleted once empty, and the agency's read
  permission names the new one. Each agency must be given its new name (written to ``OUT/CODE.inbox``).

Moving a message publishes the copy (confirmed) before acknowledging the original, so a crash half
way leaves at most a copy twice (the hub and the agencies drop a message id they handled); run it
again and it finds only what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from vbcore.errors import TransportError
from vbcore.lang import Lang, Text
from vbcore.security.pki import DevPki
from vbcore.transport import Delivery, Outgoing
from vbcore.transport import names as n
from vbcore.transport.names import Names, inbox_token
from vbcore.transport.parking import clean_text
from vbcore.transport.provision import BrokerAdmin


class MigratingTransport(Protocol):
    """What moving queues needs of a transport: a ``Transport``'s messages, and queues unbound and
    deleted (``RabbitMQTransport`` has them; the CLI opens it as the hub user and passes it in)."""

    def declare_hub(self, agencies: list[str]) -> None: ...

    def get(self, queue: str) -> Delivery | None: ...

    def publish_many(self, messages: list[Outgoing]) -> None: ...

    def ack(self, delivery: Delivery) -> None: ...

    def queue_depth(self, queue: str) -> int: ...

    def queue_exists(self, queue: str) -> bool: ...

    def unbind_queue(self, queue: str, exchange: str, routing_key: str) -> None: ...

    def delete_queue(self, queue: str) -> None: ...


@dataclass
class Migration:
    """What was moved: the old ingress's messages, and each agency's new inbox with its messages."""

    ingress_moved: int = 0
    inboxes: dict[str, tuple[str, int]] = field(default_factory=dict)  # code -> (new inbox, moved)

    def lines(self, lang: Lang) -> list[str]:
        out = [_INGRESS.format(n=self.ingress_moved)(lang)]
        out += [_INBOX.format(code=code, name=name, n=moved)(lang)
                for code, (name, moved) in sorted(self.inboxes.items())]
        return out


_INGRESS = Text("cửa vào: đã gửi lại {n} thông điệp vào hàng đợi cửa vào mới",
                "ingress: {n} messages replayed to the new ingress queue")
_INBOX = Text("{code}: hộp thư mới là {name} (đã chuyển {n} thông điệp; hãy báo cho cơ quan)",
              "{code}: inbox is now {name} ({n} messages moved; tell the agency)")


def legacy_inboxes(queue_names: list[str], names: Names) -> list[str]:
    """The codes whose inbox in ``queue_names`` is named the 0.1 way (no token of this secret)."""
    start = names.legacy_inbox("")
    codes = []
    for queue in queue_names:
        if not queue.startswith(start):
            continue
        rest = queue.removeprefix(start)
        code, _, token = rest.rpartition(".")
        if code and token == inbox_token(names.inbox_secret, names.prefix, code):
            continue  # already named with this secret
        codes.append(rest)
    return sorted(codes)


def migrate(hub: MigratingTransport, admin: BrokerAdmin, names: Names, out: Path) -> Migration:
    """Move everything (see the module's docstring); ``hub`` connects as the hub user."""
    if not names.inbox_secret:
        raise ValueError("migrating needs the inbox secret")
    done = Migration()
    codes = legacy_inboxes([q.name for q in admin.queues()], names)
    hub.declare_hub(codes)  # the new ingress and inboxes, bound, before the old ones are unbound
    old_ingress = names.legacy_ingress_queue
    if hub.queue_exists(old_ingress):
        # pika bound it under its own name, kombu under "": a fanout exchange routes through either.
        for key in (old_ingress, ""):
            hub.unbind_queue(old_ingress, names.ingress_exchange, key)
        done.ingress_moved = _move(hub, old_ingress, lambda d: _replay(d, names))
        hub.delete_queue(old_ingress)
    for code in codes:
        old = names.legacy_inbox(code)
        hub.unbind_queue(old, names.delivery_exchange, code)
        moved = _move(hub, old, lambda d, code=code: Outgoing(  # type: ignore[misc]
            names.delivery_exchange, code, d.body, d.message_id, dict(d.headers)))
        hub.delete_queue(old)
        admin.grant_agency(code)
        out.mkdir(parents=True, exist_ok=True)
        DevPki(out).inbox_path(code).write_text(names.inbox(code) + "\n", encoding="utf-8")
        done.inboxes[code] = (names.inbox(code), moved)
    return done


def _replay(delivery: Delivery, names: Names) -> Outgoing:
    """An old ingress message as the hub replays it: its broker-validated publisher, and nothing else
    from its headers but the kind and DocumentId."""
    headers = {key: text for key in (n.KIND, n.DOCUMENT_ID)
               if (text := clean_text(delivery.headers.get(key))) is not None}
    if delivery.user_id:
        headers[n.ORIGINAL_USER] = delivery.user_id
    key = delivery.user_id or ""
    return Outgoing(names.ingress_exchange, key, delivery.body, delivery.message_id, headers)


def _move(hub: MigratingTransport, queue: str, copy: Callable[[Delivery], Outgoing]) -> int:
    """Publish a copy of every message ``queue`` holds now (confirmed), then acknowledge the original.

    Bounded by its depth at the start: should a copy come back to ``queue`` (a binding left), the
    move stops and the queue is not deleted (``delete_queue`` keeps a queue that is not empty)."""
    moved = 0
    for _ in range(hub.queue_depth(queue)):
        delivery = hub.get(queue)
        if delivery is None:
            break
        hub.publish_many([copy(delivery)])
        hub.ack(delivery)
        moved += 1
    if hub.queue_depth(queue):
        raise TransportError(f"{queue} still receives messages: a binding to it is left; remove it "
                             "(the management UI) and run `vb hub migrate` again")
    return moved
