"""What the board sees of the broker: parked messages (through ``vbcore.hub.parked``, as ``vb parked``
does) and queue depths. The CLI gives it a factory for the hub's transport and, for the depths, the
management API's listing (``vb queues``'s) or, in the demo, the in-memory broker's.

Replaying and dropping are the operator's ``vb parked replay``/``drop``: the same function, the same
checks (``NotReplayable``), and one line recorded with who did it (``Accounts.record_action``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vbcore.errors import NotReplayable
from vbcore.evidence.entry import package_digest
from vbcore.hub.parked import ParkedMessage, browse, settle
from vbcore.store.accounts import Accounts, OperatorAction
from vbcore.timezones import utc_now
from vbcore.transport import Transport
from vbcore.transport.names import Names

PARKED_LIMIT = 1000  # browsed at most per request: a flood is for `vb parked` in bulk


@dataclass(frozen=True)
class QueueDepth:
    name: str
    messages: int
    consumers: int | None = None


QueueLister = Callable[[], list[QueueDepth]]


@dataclass(frozen=True)
class ActionResult:
    outcome: str  # "done" | "not-found" | "not-replayable"
    parked: ParkedMessage | None
    why: NotReplayable | None = None


@dataclass
class BrokerView:
    open_transport: Callable[[], Transport]
    names: Names
    list_queues: QueueLister

    def parked(self, limit: int = PARKED_LIMIT) -> list[ParkedMessage]:
        return browse(self.open_transport, self.names, limit)

    def queues(self) -> list[QueueDepth]:
        return self.list_queues()

    def act(self, accounts: Accounts, actor: str, message_id: str, *, replay: bool) -> ActionResult:
        """Replay or drop one parked message and record who did it, whatever came of it."""
        try:
            done = settle(self.open_transport, self.names, message_id, replay=replay)
            result = ActionResult("done" if done else "not-found", done)
        except NotReplayable as err:
            found = [p for p in self.parked() if p.message_id == message_id]
            result = ActionResult("not-replayable", found[0] if found else None, err)
        p = result.parked
        accounts.record_action(OperatorAction(
            at=utc_now(), actor=actor, action="replay" if replay else "drop", message_id=message_id,
            document_id=p.document_id if p else None, sender=p.original_user if p else None,
            reason=p.reason if p else None, outcome=result.outcome,
            package_digest=package_digest(p.delivery.body) if p else None,
        ))  # fmt: skip
        return result
