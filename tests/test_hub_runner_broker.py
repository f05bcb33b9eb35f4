"""A running hub (``runner.run``) outlives a broker connection that keeps dropping: it never exits
because the broker is away (issue 10), and it stops when told, even then."""

from __future__ import annotations

from test_hub_support import G22, H24, World, edoc

from vbcore.errors import ConnectionLost
from vbcore.hub.runner import StopFlag, run
from vbcore.transport.memory import InMemoryTransport

pytest_plugins = ["test_hub_support"]  # its fixtures: pki, keys, world


class DroppingTransport(InMemoryTransport):
    """Its first ``drops`` drains fail as a connection that kept dropping would; then, after ``turns``
    more, it sets ``stop`` (SIGTERM's flag)."""

    drops = 3
    turns = 20
    stop: StopFlag | None = None

    def drain(self, timeout: float = 0.0) -> int:
        if self.drops:
            self.drops -= 1
            raise ConnectionLost("receiving: the connection kept dropping")
        self.turns -= 1
        if self.turns <= 0 and self.stop is not None:
            self.stop.set()
        return super().drain(timeout)


def test_a_running_hub_goes_on_after_its_connection_kept_dropping(world: World) -> None:
    doc = edoc(G22, [H24])
    world.client(G22).submit(doc)
    transport = DroppingTransport(world.broker, world.names.hub_user, world.names)
    stop = StopFlag()
    transport.stop = stop
    hub = world.dev.hub(transport, world.store, world.config, world.directory)
    world.store.close = lambda: None  # type: ignore[method-assign] (the test reads it afterwards)
    run(hub, stop, agencies=list(world.agencies), tick=0.0)  # returns: stopped, not crashed
    assert transport.drops == 0
    [got] = world.inbox(H24)
    assert got.package.effective_document_id == doc.effective_document_id
