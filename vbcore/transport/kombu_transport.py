"""The agency-side RabbitMQ transport (kombu). kombu enters vbus through this module only.

Why kombu here and pika for the hub (``rabbitmq.py``): the two sides of the bus want different
things from a client library.

- The hub is one process (or a few) next to its broker, carrying every agency's traffic. Its cost is
  throughput: it keeps hundreds of publisher confirms outstanding (``RabbitMQTransport.publish_many``
  drives pika's asynchronous channel for that, 2-3x the rate of one confirm at a time).
- Agencies are many, each sends a few hundred documents a day, often over a WAN to a hub that runs
  several broker nodes. What they need is to *stay connected*: a list of nodes to fail over across
  (kombu takes ``amqp://h1//;amqp://h2//`` and a failover strategy), re-connection with a bounded
  retry policy (``Connection.ensure_connection`` / ``Connection.ensure``, which re-runs the
  operation on the next node and lets this transport ``revive`` its channels and consumers),
  heartbeats so that a dead WAN link is noticed, and a small API. kombu's one-confirm-at-a-time
  publishing is far more than one agency sends: measured on the test machine (broker on the same
  host, quorum queue), 0.6-0.7 ms per confirmed 10 KB publish (1,400-1,550 msg/s) and 3.2-3.3 ms per
  1 MB (about 300 msg/s); consuming with acks 1,450-2,900 msg/s at 10 KB. Over a WAN each confirm
  costs one round trip more.

Heartbeats (``heartbeat``, 30 s by default) are sent and checked whenever the transport is used
(every call, and at least once a second inside ``drain``). A caller that leaves it untouched for
more than two heartbeats finds its connection closed by the broker: the next call reopens it, and
the deliveries it held unacknowledged come back redelivered (the connector runtime's ledger makes
that harmless).

Guarantees (the same contract as ``rabbitmq.py``; names from ``transport.names``):
- ``publish`` is persistent, ``mandatory``, and waits for the broker's confirm (kombu's
  ``confirm_publish`` transport option): a nack, a return as unroutable, or no confirm within
  ``confirm_timeout`` raise ``PublishNotConfirmed``. ``user_id`` is the connection's user, which the
  broker checks, so ``Delivery.user_id`` proves who sent a message.
- Queues are never declared by an agency (it has no configure permission: the hub provisions them).
  ``declare_inbox`` of the agency's own inbox checks with a passive declare that the hub made it, and
  raises ``QueueNotFound`` if not; another agency's inbox is ``AccessRefused``. A user who may
  configure (the hub user) declares the same quorum queues with the same arguments as the pika
  transport (``amqp_wire``), so the two never conflict.
- Consumers ack manually with a bounded prefetch. A dropped connection is re-opened by kombu's
  ``ensure`` on the next node; consumers resume; deliveries handed out before the drop are stale
  (acking one is a no-op: the broker redelivers it). A consumer the broker cancels (basic.cancel: its
  queue deleted, or a quorum queue's member restarting) consumes again on a new channel of the same
  connection, retried with a bounded backoff while the queue is missing; what the old channel had in
  hand is stale in the same way.
- ``reject(requeue=False)`` follows the one parking policy of every transport (``parking``): a clean
  copy when the user may publish to the dead-letter exchange (the hub user); an agency may not, so
  its reject of an inbox delivery lets the broker dead-letter it (the inbox's
  ``x-dead-letter-exchange``) and the parked copy gets its reason from ``x-death``.
- kombu and py-amqp errors are translated here into ``vbcore.errors``. A transport is not
  thread-safe: one per thread.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from amqp import exceptions as ax  # kombu's own AMQP driver (py-amqp): its errors carry reply codes
from kombu import connection as _connection
from kombu import entity as _entity
from kombu import exceptions as kx
from kombu import messaging as _messaging

from vbcore.errors import AccessRefused, ConnectionLost, PublishNotConfirmed, QueueNotFound, TransportError
from vbcore.tls import NO_VERIFY, split_url, tls_failure
from vbcore.transport.amqp_wire import (
    INGRESS_QUEUE_ARGUMENTS,
    PARKED_QUEUE_ARGUMENTS,
    delivery_count,
    read_headers,
    work_queue_arguments,
)
from vbcore.transport.base import Delivery, Handler, Outgoing, Transport
from vbcore.transport.broker_errors import BrokerContext, explain
from vbcore.transport.names import Names

log = logging.getLogger(__name__)
T = TypeVar("T")

# kombu ships py.typed but its functions are unannotated: seen from here, its objects are ``Any``.
Connection: Any = _connection.Connection
Exchange: Any = _entity.Exchange
Queue: Any = _entity.Queue
Producer: Any = _messaging.Producer
Consumer: Any = _messaging.Consumer


@dataclass(frozen=True)
class RetryPolicy:
    """How long kombu keeps trying to (re-)connect before the operation fails with ``ConnectionLost``.

    ``max_retries`` counts attempts over all nodes; the pause starts at ``interval_start`` and grows
    by ``interval_step`` up to ``interval_max`` after each full round of the node list. The defaults
    give up after roughly 20 s of a broker that stays away.
    """

    max_retries: int = 10
    interval_start: float = 0.2
    interval_step: float = 0.5
    interval_max: float = 3.0

    def as_kwargs(self) -> dict[str, Any]:
        return {"max_retries": self.max_retries, "interval_start": self.interval_start,
                "interval_step": self.interval_step, "interval_max": self.interval_max}


def translate(error: BaseException, doing: str, context: BrokerContext | None = None) -> TransportError:
    """Turn a kombu or py-amqp exception into the vbus error that names what happened (and, for a
    refused login, vhost or queue, what to do: ``broker_errors``)."""
    if isinstance(error, TransportError):
        return error
    code = getattr(error, "reply_code", None) or getattr(error, "code", None)
    text = getattr(error, "reply_text", None) or str(error)
    explained = explain(text, context)
    if explained is not None:
        return explained
    if isinstance(error, ax.AccessRefused) or code in (403, 530):
        return AccessRefused(f"{doing}: {text}")
    if isinstance(error, ax.PreconditionFailed) and "user_id" in text:
        return AccessRefused(f"{doing}: {text}")
    if isinstance(error, ax.NotFound) or code == 404:
        return QueueNotFound(f"{doing}: {text}")
    if isinstance(error, ax.MessageNacked):
        return PublishNotConfirmed(f"{doing}: nacked by the broker")
    if isinstance(error, ax.ChannelError):
        return TransportError(f"{doing}: the broker said {code} {text}")
    return ConnectionLost(f"{doing}: {error!r}")


class _Failover(_connection.Connection):
    """kombu's connection, with each node's own TLS options.

    kombu keeps one ``ssl`` dict for all the nodes of a failover list and fills its
    ``server_hostname`` once, with the first node's host (after turning ``localhost`` into
    ``127.0.0.1``): every other node's certificate would be checked against the wrong name. Here each
    node gets a fresh copy of its own options, with its own host, whenever kombu switches to it.
    """

    node_tls: dict[str, dict[str, Any] | None]

    def switch(self, conn_str: str) -> None:
        super().switch(conn_str)  # type: ignore[no-untyped-call]  # kombu is unannotated
        options = self.node_tls.get(conn_str)
        self.ssl = dict(options) if options is not None else False


Failover: Any = _Failover


def _kombu_nodes(url: str) -> tuple[dict[str, dict[str, Any] | None], bool]:
    """Each node's URL as kombu reads it with its py-amqp TLS options (None: plain), and whether the
    nodes log in with EXTERNAL (a client certificate). The files are read now
    (``TlsSettings.context``): a wrong path is a configuration error, not a broker that seems down."""
    nodes: dict[str, dict[str, Any] | None] = {}
    external = False
    for node in url.split(";"):
        if not node.strip():
            continue
        clean, tls = split_url(node.strip())
        if tls is None:
            nodes[clean] = None
            continue
        tls.context()
        external = external or tls.external
        options: dict[str, Any] = {"server_hostname": tls.host} if tls.verify else {"cert_reqs": NO_VERIFY}
        if tls.cafile is not None:
            options["ca_certs"] = str(tls.cafile)
        if tls.certfile is not None and tls.keyfile is not None:
            options.update(certfile=str(tls.certfile), keyfile=str(tls.keyfile))
        nodes[clean] = options
    return nodes, external


@dataclass(frozen=True)
class _Tag:
    message: Any  # the kombu Message: it acks and rejects on the channel it came on
    generation: int  # which connection; a delivery from an older one is stale


@dataclass(frozen=True)
class _ConsumerSpec:
    queue: str
    handler: Handler
    prefetch: int


# Pauses between tries to consume again from a queue that is missing after a basic.cancel.
_RECONSUME_FIRST = 0.2
_RECONSUME_MAX = 5.0


class KombuTransport(Transport):
    """One AMQP connection (to the first reachable of several nodes) as one broker user."""

    def __init__(
        self,
        url: str,
        names: Names | None = None,
        user: str | None = None,
        *,
        heartbeat: int = 30,
        failover: str = "round-robin",
        retry: RetryPolicy | None = None,
        connect_timeout: float = 5.0,
        confirm_timeout: float = 30.0,
        stamp_user_id: bool = True,
    ) -> None:
        self.names = names or Names()
        # False only to show what a client that leaves ``user_id`` unset gets (tests of the hub).
        self.stamp_user_id = stamp_user_id
        self.retry = retry or RetryPolicy()
        self.confirm_timeout = confirm_timeout
        # kombu reads ``a;b`` as failover nodes; each node's URL may carry its own credentials, and its
        # own TLS settings (``_Failover``: the host name each node's certificate is checked against).
        nodes, external = _kombu_nodes(url)
        first = next(iter(nodes.values()), None)
        self._conn: Any = Failover(";".join(nodes), heartbeat=heartbeat, failover_strategy=failover,
                                    connect_timeout=connect_timeout, transport_options={},
                                    ssl=dict(first) if first is not None else False,
                                    login_method="EXTERNAL" if external else None)
        self._conn.node_tls = nodes
        # The user the broker authenticates; ``user`` overrides only what is stamped in ``user_id``
        # (the broker refuses a mismatch: that is how spoofing is shown to fail).
        self.user: str = user or self._conn.userid
        # Passed to py-amqp's connection: confirms on every publish, and a name an operator can read.
        self._conn.transport_options.update(
            confirm_publish=True, client_properties={"connection_name": f"vbus kombu {self.user}"}
        )
        self._hub_agencies: list[str] | None = None
        self._inboxes: list[str] = []
        self._consumers: list[_ConsumerSpec] = []
        self._consumer_channels: list[Any] = []
        self._consumer_restarts = 0
        self._reconsume_at: dict[int, tuple[float, float]] = {}  # consumer -> (next try, its pause)
        self._buffer: deque[tuple[Handler, Delivery]] = deque()
        self._channels: dict[str, Any] = {}  # "ops" (declarations, depth), "get", "pub"
        self._returned: list[str] = []  # why the message being published came back
        self._generation = 1
        self._needs_setup = False
        self._closed = False
        try:
            self._conn.ensure_connection(errback=self._on_retry, **self.retry.as_kwargs())
        except Exception as e:
            self._conn.release()
            raise self._translate(e, "connecting") from e

    # --- connection management --------------------------------------------------------------

    @property
    def node(self) -> str:
        """The broker node this transport is connected to now (``host:port``)."""
        return str(self._conn.host)

    @property
    def reconnects(self) -> int:
        """How many times this transport re-opened its connection after losing it."""
        return self._generation - 1

    @property
    def consumer_restarts(self) -> int:
        """How many times a consumer consumed again on the same connection (cancelled by the broker,
        or its channel closed by a channel error)."""
        return self._consumer_restarts

    def _on_retry(self, error: BaseException, interval: float) -> None:
        tls_failure(error, self._conn.as_uri())  # a certificate that does not verify: raised, not retried
        log.warning("broker node %s unreachable (%r); next try in %.1f s", self._conn.host, error, interval)

    def revive(self, channel: Any) -> None:
        """Called by kombu's ``ensure`` once it re-established the connection (maybe to another node).

        Channels, consumers and buffered deliveries of the lost connection are dropped; the next
        operation re-declares what this transport declared and consumes again (``_ready``).
        """
        log.warning("broker connection re-established to %s", self._conn.host)
        self._generation += 1
        self._buffer.clear()
        self._channels.clear()
        self._consumer_channels = []
        self._reconsume_at.clear()
        self._needs_setup = True

    def _ready(self) -> None:
        if self._closed:
            raise ConnectionLost("the transport is closed")
        if not self._needs_setup:
            # Read what waits first (the broker's heartbeats among it), so a caller that was busy
            # elsewhere for a while is not taken for a dead broker by the check below.
            self._read_waiting()
        self._conn.heartbeat_check()
        if not self._needs_setup:
            return
        if self._hub_agencies is not None:
            self._declare_hub(self._hub_agencies)
        for code in self._inboxes:
            self._declare_inbox(code)
        self._consumer_channels = [self._start_consumer(spec) for spec in self._consumers]
        self._needs_setup = False

    def _run(self, doing: str, op: Callable[[], T]) -> T:
        """Run ``op`` under kombu's ``ensure``: a lost connection is re-opened and ``op`` run again."""

        def attempt() -> T:
            self._ready()
            return op()

        ensured = self._conn.ensure(self, attempt, errback=self._on_retry, **self.retry.as_kwargs())
        try:
            return ensured()  # type: ignore[no-any-return]
        except Exception as e:
            raise self._translate(e, doing) from e

    def _translate(self, error: BaseException, doing: str) -> TransportError:
        if isinstance(error, kx.OperationalError | ax.RecoverableConnectionError | OSError):
            if hint := tls_failure(error, self._conn.as_uri()):  # a plain URL where only TLS is taken
                return hint
            return ConnectionLost(f"{doing}: could not reach a broker node ({error})")
        if isinstance(error, ax.ChannelError | ax.ConnectionError | ax.MessageNacked | TransportError):
            c = self._conn
            return translate(error, doing, BrokerContext(c.userid, c.as_uri(), c.virtual_host))
        if isinstance(error, kx.KombuError):
            return TransportError(f"{doing}: {error}")
        raise error

    def _forget_channel(self, purpose: str) -> None:
        channel = self._channels.pop(purpose, None)
        if channel is not None:
            with contextlib.suppress(Exception):  # closing a channel the broker may already have closed
                channel.close()

    def _channel(self, purpose: str) -> Any:
        channel = self._channels.get(purpose)
        if channel is None or not channel.is_open:
            channel = self._channels[purpose] = self._conn.channel()
            channel.auto_decode = False  # bodies are bytes, whatever content_encoding says
        return channel

    # --- topology ---------------------------------------------------------------------------

    def _declare_hub(self, agencies: list[str]) -> None:
        n, ch = self.names, self._channel("ops")
        dlx = Exchange(n.dead_letter_exchange, "fanout", durable=True)
        Queue(n.parked_queue, dlx, durable=True, queue_arguments=PARKED_QUEUE_ARGUMENTS)(ch).declare()
        ingress = Exchange(n.ingress_exchange, "fanout", durable=True)
        ingress_queue = Queue(n.ingress_queue, ingress, durable=True, queue_arguments=INGRESS_QUEUE_ARGUMENTS)
        ingress_queue(ch).declare()
        for code in agencies:
            self._declare_inbox(code)

    def _declare_inbox(self, code: str) -> None:
        n, ch = self.names, self._channel("ops")
        deliver = Exchange(n.delivery_exchange, "direct", durable=True)
        queue = Queue(n.inbox(code), deliver, routing_key=code, durable=True,
                            queue_arguments=work_queue_arguments(n))
        try:
            queue(ch).declare()
        except ax.AccessRefused:
            if self.names.agency_user(code) != self.user:
                raise  # an agency only ever needs its own inbox
            # No configure permission: the hub provisions queues; check that it did.
            try:
                self._channel("ops").queue_declare(queue=n.inbox(code), passive=True)
            except ax.NotFound as e:
                raise QueueNotFound(f"the inbox {n.inbox(code)} does not exist: the hub provisions it "
                                    f"(`vb agency add {code}`)") from e

    def declare_hub(self, agencies: list[str]) -> None:
        self._run("declaring the hub topology", lambda: self._declare_hub(agencies))
        self._hub_agencies = list(agencies)

    def declare_inbox(self, agency: str) -> None:
        self._run(f"declaring the inbox of {agency}", lambda: self._declare_inbox(agency))
        if agency not in self._inboxes:
            self._inboxes.append(agency)

    # --- publishing -------------------------------------------------------------------------

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        m = Outgoing(exchange, routing_key, body, message_id, dict(headers or {}))
        self._run(f"publishing {message_id}", lambda: self._publish(m))

    def _publish(self, m: Outgoing) -> None:
        channel = self._channel("pub")
        if not getattr(channel, "_vbus_returns", False):
            channel.events["basic_return"].add(self._on_return)
            channel._vbus_returns = True
        self._returned.clear()
        producer = Producer(channel, auto_declare=False)
        try:
            producer.publish(
                m.body, routing_key=m.routing_key, exchange=m.exchange, mandatory=True,
                delivery_mode=2, headers=dict(m.headers), message_id=m.message_id,
                **({"user_id": self.user} if self.stamp_user_id else {}),
                content_type="application/octet-stream", content_encoding="binary",
                confirm_timeout=self.confirm_timeout,
            )
        except ax.MessageNacked as e:  # kombu would count it as a lost connection and publish again
            # RabbitMQ 3.10 may go on nacking every publish on a channel after a quorum leader died
            # (the hub's transport found it too): the next publish takes a new channel.
            self._forget_channel("pub")
            raise PublishNotConfirmed(f"{m.message_id}: nacked by the broker") from e
        except TimeoutError as e:
            self._drop_channel("pub")  # a late confirm must not be taken for the next message's
            waited = f"{self.confirm_timeout:.0f} s"
            raise PublishNotConfirmed(f"{m.message_id}: no confirm within {waited}") from e
        except ax.NotFound as e:
            raise PublishNotConfirmed(f"{m.message_id}: {e.reply_text}") from e
        if self._returned:
            where = f"exchange {m.exchange!r}, key {m.routing_key!r}"
            raise PublishNotConfirmed(f"{m.message_id}: unroutable: {self._returned[0]} ({where})")

    def _on_return(self, error: BaseException, exchange: str, routing_key: str, message: Any) -> None:
        # A Basic.Return comes before the confirm of the same message, while ``_publish`` waits.
        self._returned.append(str(getattr(error, "reply_text", None) or error))

    def _drop_channel(self, purpose: str) -> None:
        channel = self._channels.pop(purpose, None)
        if channel is not None:
            with contextlib.suppress(Exception):
                channel.close()

    # --- consuming --------------------------------------------------------------------------

    def consume(self, queue: str, handler: Handler, *, prefetch: int = 16) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        spec = _ConsumerSpec(queue, handler, prefetch)
        channel = self._run(f"consuming {queue}", lambda: self._start_consumer(spec))
        self._consumers.append(spec)
        self._consumer_channels.append(channel)

    def _start_consumer(self, spec: _ConsumerSpec) -> Any:
        channel = self._conn.channel()
        channel.auto_decode = False
        generation = self._generation

        def on_message(message: Any) -> None:
            delivery = self._delivery(spec.queue, message, generation)
            self._buffer.append((spec.handler, delivery))

        consumer = Consumer(channel, queues=[Queue(spec.queue, no_declare=True)], no_ack=False,
                                  auto_declare=False, on_message=on_message, prefetch_count=spec.prefetch,
                                  tag_prefix=f"vbus {self.user} ")
        try:
            consumer.consume()
        except ax.ChannelError:
            with contextlib.suppress(Exception):
                channel.close()
            raise
        for tag in list(channel.callbacks):
            # Without a callback py-amqp raises a basic.cancel as a lost connection (ConsumerCancelled),
            # from whatever call reads it: kombu would reconnect, maybe to another node, and re-run a
            # publish. ``_pump`` sees the consumer gone (no callbacks left) and consumes again.
            channel.cancel_callbacks[tag] = lambda tag, queue=spec.queue: log.warning(
                "the consumer %s of %s was cancelled by the broker", tag, queue)
        return channel

    def _delivery(self, queue: str, message: Any, generation: int) -> Delivery:
        """Built in the consumer callback, outside the pipeline's guard: nothing here may raise."""
        properties = message.properties
        user_id = properties.get("user_id") or None
        redelivered = bool(message.delivery_info.get("redelivered"))
        return Delivery(
            queue=queue,
            body=bytes(message.body),
            headers=read_headers(message.headers, user_id),
            message_id=properties.get("message_id") or "",
            user_id=user_id,
            redelivered=redelivered,
            delivery_count=delivery_count(message.headers, redelivered=redelivered),
            tag=_Tag(message, generation),
        )

    def drain(self, timeout: float = 0.0) -> int:
        deadline = time.monotonic() + timeout
        dispatched = 0
        while True:
            self._run("receiving", lambda: self._pump(deadline))
            while self._buffer:
                handler, delivery = self._buffer.popleft()
                handler(delivery)
                dispatched += 1
            if time.monotonic() >= deadline:
                return dispatched

    def _pump(self, deadline: float) -> None:
        """Read what the broker sent, waiting until ``deadline`` for the first event."""
        for i, channel in enumerate(self._consumer_channels):
            # Closed by a channel error (e.g. a double ack), or its consumer cancelled by the broker
            # (py-amqp then keeps the channel open with no consumer on it): consume again.
            if not channel.is_open or not channel.callbacks:
                self._consume_again(i, channel)
        wait = max(0.0, deadline - time.monotonic())
        # Wake at least every second for heartbeats (kombu asks for a heartbeat_check about that often).
        wait = min(wait, 1.0)
        try:
            self._conn.drain_events(timeout=wait)
        except TimeoutError:
            return
        self._read_waiting()

    def _consume_again(self, i: int, channel: Any) -> None:
        """Consume again on a new channel of this connection. Closing the old one gives back what it had
        in hand, and makes those deliveries stale (``_live``: never acked on the new channel). A queue
        still missing is tried again after a pause that doubles up to ``_RECONSUME_MAX``."""
        spec, now = self._consumers[i], time.monotonic()
        next_try, pause = self._reconsume_at.get(i, (now, _RECONSUME_FIRST))
        if now < next_try:
            return
        if channel.is_open:
            with contextlib.suppress(Exception):
                channel.close()
        log.warning("the consumer of %s is gone; consuming again", spec.queue)
        try:
            self._consumer_channels[i] = self._start_consumer(spec)
        except ax.NotFound as e:
            self._reconsume_at[i] = (now + pause, min(pause * 2, _RECONSUME_MAX))
            log.warning("cannot consume %s (%s); next try in %.1f s", spec.queue, e.reply_text, pause)
            return
        self._reconsume_at.pop(i, None)
        self._consumer_restarts += 1

    def _read_waiting(self) -> None:
        """Handle every frame the broker already sent, without waiting (deliveries are buffered)."""
        while True:
            try:
                self._conn.drain_events(timeout=0)
            except TimeoutError:
                return

    def get(self, queue: str) -> Delivery | None:
        def take() -> Delivery | None:
            try:
                message = Queue(queue, no_declare=True)(self._channel("get")).get(no_ack=False)
            except ax.ChannelError:
                # py-amqp reopens a channel the broker closed under the same object; a fresh one
                # instead makes deliveries got on the old one stale (their tags mean nothing now).
                self._drop_channel("get")
                raise
            return None if message is None else self._delivery(queue, message, self._generation)

        return self._run(f"getting from {queue}", take)

    # --- settling ---------------------------------------------------------------------------

    def _live(self, delivery: Delivery) -> Any:
        tag = delivery.tag
        if not isinstance(tag, _Tag):
            raise TransportError(f"delivery {delivery.message_id} did not come from this transport")
        if self.is_stale(delivery):
            log.warning("delivery %s came on a lost connection; it is redelivered", delivery.message_id)
            return None
        return tag.message

    def is_stale(self, delivery: Delivery) -> bool:
        tag = delivery.tag
        if not isinstance(tag, _Tag):
            return True
        channel = tag.message.channel
        return tag.generation != self._generation or channel is None or not channel.is_open

    def _settle(self, delivery: Delivery, doing: str, op: Callable[[Any], None]) -> None:
        message = self._live(delivery)
        if message is None:
            return
        try:
            op(message)
        except (ax.RecoverableConnectionError, OSError) as e:  # the broker redelivers it
            log.warning("%s %s failed: %r", doing, delivery.message_id, e)
        except Exception as e:
            raise self._translate(e, f"{doing} {delivery.message_id}") from e

    def ack(self, delivery: Delivery) -> None:
        self._settle(delivery, "acking", lambda m: m.ack())

    def _is_live(self, delivery: Delivery) -> bool:
        return self._live(delivery) is not None

    def _requeue(self, delivery: Delivery) -> None:
        self._settle(delivery, "requeueing", lambda m: m.reject(requeue=True))

    def _dead_letter(self, delivery: Delivery) -> None:
        self._settle(delivery, "rejecting", lambda m: m.reject(requeue=False))

    def queue_depth(self, queue: str) -> int:
        def depth() -> int:
            return int(self._channel("ops").queue_declare(queue=queue, passive=True).message_count)

        return self._run(f"reading the depth of {queue}", depth)

    def close(self) -> None:
        """Close the connection; unacknowledged deliveries go back to their queues, redelivered."""
        if self._closed:
            return
        self._closed = True
        self._channels.clear()
        self._consumer_channels = []
        with contextlib.suppress(Exception):
            self._conn.release()
