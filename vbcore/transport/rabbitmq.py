"""The RabbitMQ transport (pika): the hub's hot path. pika enters vbus through this module only.

Topology and guarantees (names from ``transport.names``):
- Every queue is a durable **quorum** queue. Inboxes dead-letter to ``{prefix}.dlx`` ->
  ``{prefix}.parked``, *at-least-once* (``x-dead-letter-strategy``, which RabbitMQ allows only with
  ``x-overflow: reject-publish``), and park a message returned more than ``DELIVERY_LIMIT`` times
  (``x-delivery-limit``), so a poison message cannot loop for ever. The ingress does not dead-letter
  at all (``amqp_wire.INGRESS_QUEUE_ARGUMENTS``): the hub parks clean copies and keeps that budget.
- Messages are persistent (``delivery_mode=2``) and published with ``mandatory=True`` under
  publisher confirms: ``publish`` returns once the broker has the message on disk, and raises
  ``PublishNotConfirmed`` if it was nacked or returned as unroutable.
- ``user_id`` is set on every publish to the connection's user; RabbitMQ refuses a publish whose
  ``user_id`` is not the authenticated user (``AccessRefused``), so ``Delivery.user_id``, when
  present, is proof of who sent a message. Other clients may leave it unset: then it is None.
- Consumers ack manually, with a bounded prefetch (``basic_qos``) per consumer channel, set when it
  consumes: RabbitMQ applies ``basic.qos`` to consumers created after it only.
- A dropped connection (broker restart) is re-opened with backoff by whichever call notices it;
  the topology is re-declared, consumers resume, and unconfirmed publishes are sent again (so a
  message can arrive twice; the hub's store drops duplicates by ``message_id``). Deliveries handed
  out before the drop are stale: acking one is a no-op, because the broker redelivers it anyway.
- Given the nodes of a cluster (``amqp://h1/v;amqp://h2/v;amqp://h3/v``), the transport opens the
  first that answers and, when its connection drops, tries the next node first, then each in turn,
  with a pause that grows to ``MAX_BACKOFF`` after every round of the list; every quorum queue has a
  member on every node, so any node serves. ``reconnect_timeout=None`` (``vb hub run``) waits for ever
  (``while_reconnecting`` beats the heartbeat and stops it on SIGTERM); otherwise ``ConnectionLost``
  ends the wait after that many seconds.

Why pika's ``BlockingConnection``, driven through its channel's ``_impl`` for publishing: pika's
blocking ``basic_publish`` in confirm mode (like kombu's) waits for each confirm in turn, one
broker round trip per message, about 700 msg/s at 10 KB (docs/measurements.md). ``publish_many`` keeps
many confirms outstanding instead: it puts the publisher channel in confirm mode through the
underlying asynchronous ``pika.channel.Channel`` (``BlockingChannel._impl``) with our own
ack/nack and return callbacks, writes up to ``confirm_window`` messages ahead, and runs the
connection's I/O loop (``process_data_events``) until every confirm is in. This stays on one
connection in the caller's thread (consumers and publisher share it, no cross-thread hand-off as a
``SelectConnection`` in a background thread would need). Measured with ``bench/bench_transport.py``
(publish confirmed + consume, quorum queue, 2 shared cores, spread +-30%): at 10 KB one confirm at
a time gives 760-1,020 msg/s, 256 outstanding 2,150-3,350 msg/s, this transport 1,840-2,480 msg/s
(publishing alone 5,500-7,000 msg/s); at 1 MB 90-145, 150-170 and 100-170 msg/s (the broker's disk
and CPU bound it). A transport is not thread-safe: one per thread.

``reject(requeue=False, reason=...)`` parks a clean copy (``parking``, the policy every transport
shares): RabbitMQ's own dead-lettering cannot add headers (``x-death`` only says "rejected"), and it
must never see a client's headers.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pika
from pika import exceptions as px

from vbcore.errors import AccessRefused, ConnectionLost, PublishNotConfirmed, QueueNotFound, TransportError
from vbcore.tls import split_url, tls_failure
from vbcore.transport import body_frames
from vbcore.transport.amqp_wire import (
    INGRESS_QUEUE_ARGUMENTS,
    PARKED_QUEUE_ARGUMENTS,
    ConfirmTracker,
    delivery_count,
    read_headers,
    work_queue_arguments,
)
from vbcore.transport.base import Delivery, Handler, Outgoing, Transport
from vbcore.transport.broker_errors import BrokerContext, explain
from vbcore.transport.names import Names

log = logging.getLogger(__name__)
T = TypeVar("T")

# Connection-level failures worth a reconnect (authentication and access failures are not).
_RECONNECTABLE = (px.AMQPConnectionError, px.ChannelWrongStateError)
_NOT_RECONNECTABLE = (px.ProbableAuthenticationError, px.ProbableAccessDeniedError, px.AuthenticationError)
_MAX_ATTEMPTS = 8
FIRST_BACKOFF = 0.1  # seconds after the first round of nodes that did not answer, doubled each round
MAX_BACKOFF = 2.0  # the longest pause between two rounds: a node back is found within it
START_TIMEOUT = 60.0  # how long the first connection is tried (a misconfigured URL fails the start)


def translate(error: BaseException, doing: str, context: BrokerContext | None = None) -> TransportError:
    """Turn a pika exception into the vbus error that names what happened (and, for a refused login,
    vhost or queue, what to do: ``broker_errors``)."""
    if isinstance(error, TransportError):
        return error
    if isinstance(error, (*_NOT_RECONNECTABLE, px.ChannelClosedByBroker, px.ConnectionClosedByBroker)):
        explained = explain(getattr(error, "reply_text", None) or str(error), context)
        if explained is not None:
            return explained
    if isinstance(error, _NOT_RECONNECTABLE):
        return AccessRefused(f"{doing}: the broker refused the credentials or the vhost ({error!r})")
    if isinstance(error, px.ChannelClosedByBroker | px.ConnectionClosedByBroker):
        code, text = error.reply_code, error.reply_text
        if code in (403, 530) or (code == 406 and "user_id" in text):
            return AccessRefused(f"{doing}: {text}")
        if code == 404:
            return QueueNotFound(f"{doing}: {text}")
        return TransportError(f"{doing}: the broker said {code} {text}")
    return ConnectionLost(f"{doing}: {error!r}")


def _parameters(url: str) -> Any:
    """pika's parameters for ``url``, with its TLS settings (``vbcore.tls``: CA, client certificate,
    EXTERNAL login) applied; the server's certificate is checked for the URL's host."""
    clean, tls = split_url(url)
    parts = urlsplit(clean)
    if parts.username is not None and parts.password is None:  # EXTERNAL: a user and no password
        clean = urlunsplit(parts._replace(netloc=parts.netloc.replace("@", ":@", 1)))
    params = pika.URLParameters(clean)
    if tls is not None:
        params.ssl_options = pika.SSLOptions(tls.context(), tls.host if tls.verify else None)
        if tls.external:
            params.credentials = pika.credentials.ExternalCredentials()
    return params


def url_user(url: str) -> str:
    """The broker user a URL names (pika's default when it names none: guest)."""
    return unquote(urlsplit(url).username or "guest")


def _node_urls(url: str) -> list[str]:
    from vbcore.transport.connect import broker_nodes  # the one parser of ``;`` lists

    return broker_nodes(url)


@dataclass(frozen=True)
class _Tag:
    channel: Any  # the pika BlockingChannel the delivery came on
    delivery_tag: int
    generation: int  # which connection; a delivery from an older one is stale


@dataclass(frozen=True)
class _ConsumerSpec:
    queue: str
    handler: Handler
    prefetch: int


_REDECLARE_PER_DRAIN = 50
"""Inboxes ``drain`` declares again per call after a reconnect (about 1 ms each on a local node)."""
MAX_GETS_AT_ONCE = 16
"""The most ``basic.get`` that ``get_many`` has outstanding at once, on a channel each."""


def _nothing() -> None:
    return None


class RabbitMQTransport(Transport):
    """One AMQP connection as one broker user, to one node of ``url``'s ``;`` list at a time; use it
    from a single thread."""

    def __init__(
        self,
        url: str,
        names: Names | None = None,
        user: str | None = None,
        *,
        reconnect_timeout: float | None = 60.0,
        start_timeout: float = START_TIMEOUT,
        confirm_window: int = 512,
        confirm_window_bytes: int = 32 * 1024 * 1024,
        confirm_timeout: float = 60.0,
        stamp_user_id: bool = True,
    ) -> None:
        self.names = names or Names()
        # False only to show what a client that leaves ``user_id`` unset gets (tests of the hub).
        self.stamp_user_id = stamp_user_id
        urls = _node_urls(url)
        self._nodes = [(node, _parameters(node)) for node in urls]
        self._node = 0  # the node connected to (or tried next)
        # The user the broker authenticates; ``user`` overrides it only for what is stamped in
        # ``user_id`` (the broker refuses a mismatch: that is how spoofing is shown to fail).
        self.user: str = user or url_user(urls[0])
        for _, params in self._nodes:
            params.client_properties = {"connection_name": f"vbus {self.user}"}
        # None: a lost connection is waited for as long as it takes (a running hub).
        self.reconnect_timeout = reconnect_timeout
        self.confirm_window = confirm_window
        self.confirm_window_bytes = confirm_window_bytes
        self.confirm_timeout = confirm_timeout
        self._hub_agencies: list[str] | None = None
        self._inboxes: list[str] = []
        self._undeclared: dict[str, None] = {}  # inboxes not declared again since the last reconnect
        self._consumers: list[_ConsumerSpec] = []
        self._buffer: deque[tuple[Handler, Delivery]] = deque()
        self._generation = 0
        # Each channel's deliveries not settled yet (delivery tags): a ``multiple`` ack must cover
        # nothing else (``ack_many``).
        self._unsettled: dict[Any, set[int]] = {}
        self._conn: Any = None
        self._ops: Any = None  # channel for declarations and queue_depth
        self._delivery_declared: Any = None  # the channel that declared the delivery exchange (on ``_ops``)
        self._getters: list[Any] = []  # channels for get, one outstanding each (deliveries acked on them)
        self._consumer_channels: list[Any] = []  # one per entry of _consumers
        self._pub: Any = None  # publisher channel, in confirm mode via its _impl
        self._tracker: ConfirmTracker | None = None
        self._closed = False
        self._reconnect(None, timeout=start_timeout if reconnect_timeout is None
                        else min(start_timeout, reconnect_timeout))

    # --- connection management --------------------------------------------------------------

    @property
    def _url(self) -> str:
        return self._nodes[self._node][0]

    @property
    def _params(self) -> Any:
        return self._nodes[self._node][1]

    @property
    def node(self) -> str:
        """The node this transport is connected to (or tries next): ``host:port``."""
        return f"{self._params.host}:{self._params.port}"

    def _open(self) -> None:
        self._drop_connection()
        self._conn = body_frames.send_bodies_as_views(pika.BlockingConnection(self._params))
        again = self._generation > 0
        self._generation += 1
        self._buffer.clear()  # deliveries of the old connection are stale; the broker redelivers them
        known = [*(self._hub_agencies or []), *self._inboxes]
        if self._hub_agencies is not None:
            self._declare_hub([])
        if again and known:
            # Consume first, declare the inboxes again after (queues are durable: on a cluster's other
            # node they are there). Each declaration is a round trip: at 5,000 agencies, declaring them
            # all first held the hub 6-8 s after every failover. Until each is declared again, a publish
            # to it declares it first (``publish_many``) and ``drain`` declares the rest a few at a time.
            self._declare_delivery_exchange()
            self._undeclared = dict.fromkeys(known)
        else:
            for code in known:
                self._declare_inbox(code)
        self._consumer_channels = [self._start_consumer(spec) for spec in self._consumers]

    def _context(self) -> BrokerContext:
        p = self._params
        scheme = "amqps" if p.ssl_options else "amqp"
        where = f"{scheme}://{self.user}@{p.host}:{p.port}/{quote(p.virtual_host, safe='')}"
        return BrokerContext(url_user(self._url), where, p.virtual_host)

    def _drop_connection(self) -> None:
        conn, self._conn, self._ops, self._pub, self._tracker = self._conn, None, None, None, None
        self._getters = []
        self._consumer_channels = []
        self._unsettled.clear()  # the old connection's deliveries are redelivered, not settled here
        if conn is not None and conn.is_open:
            with contextlib.suppress(px.AMQPError):
                conn.close()

    def _reconnect(self, cause: BaseException | None, *, timeout: float | None = -1.0) -> None:
        """Open a connection to the first node that answers, trying each of the list in turn (the node
        after the one lost first: it may be going away), with a growing pause after each round."""
        if self._closed:
            raise ConnectionLost("the transport is closed")
        if timeout is not None and timeout < 0:
            timeout = self.reconnect_timeout
        lost = self.node
        if cause is not None:
            log.warning("broker connection to %s lost (%r); reconnecting", lost, cause)
            self._node = (self._node + 1) % len(self._nodes)
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = FIRST_BACKOFF
        tried = 0
        while True:
            try:
                self._open()
                if cause is not None:
                    log.warning("broker connection re-opened on %s (lost on %s)", self.node, lost)
                return
            except _NOT_RECONNECTABLE as e:
                raise translate(e, "connecting", self._context()) from e
            except px.ConnectionClosedByBroker as e:
                if e.reply_code in (403, 530):
                    raise translate(e, "connecting", self._context()) from e
                last: BaseException = e
            except (*_RECONNECTABLE, OSError) as e:
                last = tls_failure(e, self._url) or e  # a certificate that does not verify: raised
            except px.ChannelClosedByBroker as e:
                if e.reply_code in (403, 404, 406):  # re-declaring or consuming again was refused
                    raise translate(e, "re-opening the connection") from e
                last = e  # e.g. a quorum queue still electing its leader after a restart
            except px.AMQPError as e:
                raise translate(e, "re-opening the connection") from e
            tried += 1
            self._node = (self._node + 1) % len(self._nodes)
            if tried % len(self._nodes):
                continue  # the next node at once; pause after a whole round
            if deadline is not None and time.monotonic() + delay > deadline:
                if isinstance(last, ConnectionLost):  # says what a refused plain connection may mean
                    raise last
                raise ConnectionLost(f"could not reach the broker for {timeout:.0f} s: {last!r}")
            if self._reconnect_tick is not None and self._reconnect_tick():
                raise ConnectionLost(f"stopped while reconnecting to the broker: {last!r}")
            time.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    def _run(self, doing: str, op: Callable[[], T]) -> T:
        """Run ``op``, reconnecting and retrying when the connection drops under it."""
        for _ in range(_MAX_ATTEMPTS):
            if self._conn is None or not self._conn.is_open:
                self._reconnect(None)
            try:
                return op()
            except _NOT_RECONNECTABLE as e:
                raise translate(e, doing) from e
            except px.ChannelClosedByBroker as e:  # the channel is reopened on next use
                raise translate(e, doing) from e
            except _RECONNECTABLE as e:
                self._reconnect(e)
            except px.AMQPError as e:
                raise translate(e, doing) from e
        raise ConnectionLost(f"{doing}: the connection kept dropping")

    @property
    def reconnects(self) -> int:
        """How many times this transport re-opened its connection after losing it."""
        return max(0, self._generation - 1)

    def _channel(self) -> Any:
        if self._ops is None or not self._ops.is_open:
            self._ops = self._conn.channel()
        return self._ops

    # --- topology ---------------------------------------------------------------------------

    def _declare_hub(self, agencies: list[str]) -> None:
        n, ch = self.names, self._channel()
        ch.exchange_declare(n.dead_letter_exchange, "fanout", durable=True)
        ch.queue_declare(n.parked_queue, durable=True, arguments=PARKED_QUEUE_ARGUMENTS)
        ch.queue_bind(n.parked_queue, n.dead_letter_exchange)
        ch.exchange_declare(n.ingress_exchange, "fanout", durable=True)
        ch.queue_declare(n.ingress_queue, durable=True, arguments=INGRESS_QUEUE_ARGUMENTS)
        ch.queue_bind(n.ingress_queue, n.ingress_exchange)
        for code in agencies:
            self._declare_inbox(code)

    def _declare_delivery_exchange(self) -> None:
        # Once per channel, not per inbox: a hub knowing thousands of agencies declares them all at its
        # start, and each declaration is a round trip (issue 13).
        ch = self._channel()
        if self._delivery_declared is not ch:
            ch.exchange_declare(self.names.delivery_exchange, "direct", durable=True)
            self._delivery_declared = ch

    def _declare_inbox(self, code: str) -> None:
        n = self.names
        self._declare_delivery_exchange()
        ch = self._channel()
        ch.queue_declare(n.inbox(code), durable=True, arguments=work_queue_arguments(n))
        ch.queue_bind(n.inbox(code), n.delivery_exchange, routing_key=code)
        self._undeclared.pop(code, None)

    def _declare_undeclared(self, codes: list[str]) -> None:
        """Declare again, on this connection, those of ``codes`` not declared since the reconnect."""
        for code in codes:
            if code in self._undeclared:
                self._declare_inbox(code)

    def _declare_some_undeclared(self) -> None:
        """``drain``'s share of the inboxes left to declare again after a reconnect."""
        if self._undeclared:
            self._run("declaring the inboxes again", lambda: self._declare_undeclared(
                list(self._undeclared)[:_REDECLARE_PER_DRAIN]))

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
        self.publish_many([Outgoing(exchange, routing_key, body, message_id, dict(headers or {}))])

    def publish_many(self, messages: list[Outgoing]) -> None:
        """Publish all with many confirms outstanding; resend the unconfirmed after a reconnect."""
        done: set[int] = set()
        failed: dict[int, str] = {}
        for _ in range(_MAX_ATTEMPTS):
            todo = [i for i in range(len(messages)) if i not in done and i not in failed]
            if not todo:
                break
            if self._conn is None or not self._conn.is_open:
                self._reconnect(None)
            tracker = ConfirmTracker(first_seq=0)
            try:
                if self._undeclared:  # after a reconnect: an inbox is declared again before a copy goes to it
                    exchange = self.names.delivery_exchange
                    self._declare_undeclared([m.routing_key for m in messages if m.exchange == exchange])
                tracker = self._start_batch()
                self._publish_batch(messages, todo, tracker)
            except _NOT_RECONNECTABLE as e:
                raise translate(e, "publishing") from e
            except _RECONNECTABLE as e:
                done |= tracker.confirmed
                self._reconnect(e)
                continue
            except px.AMQPError as e:
                raise translate(e, "publishing") from e
            done |= tracker.confirmed
            failed.update(tracker.failed)
            break
        else:
            raise ConnectionLost("publishing: the connection kept dropping")
        if failed:
            # The next publish gets a channel of its own: after a quorum queue's leader died, RabbitMQ
            # 3.10 kept nacking every publish of the old channel to it (its enqueuer state is stale),
            # so a hub retried its held batch on it for ever; a new channel is a new enqueuer.
            self._drop_publisher()
            shown = "; ".join(f"{messages[i].message_id}: {why}" for i, why in sorted(failed.items())[:5])
            raise PublishNotConfirmed(f"{len(failed)} of {len(messages)} messages not confirmed: {shown}",
                                      message_ids=tuple(messages[i].message_id for i in sorted(failed)))

    def _drop_publisher(self) -> None:
        channel, self._pub, self._tracker = self._pub, None, None
        if channel is not None and channel.is_open:
            with contextlib.suppress(px.AMQPError):
                channel.close()

    def _start_batch(self) -> ConfirmTracker:
        """The publisher channel in confirm mode, with a fresh tracker for this batch."""
        if self._pub is None or not self._pub.is_open:
            self._pub = self._conn.channel()
            tracker = ConfirmTracker(first_seq=1)
            selected: list[bool] = []
            impl = self._pub._impl
            impl.confirm_delivery(
                ack_nack_callback=lambda frame: self._on_confirm(frame),
                callback=lambda _frame: selected.append(True),
            )
            impl.add_on_return_callback(lambda *args: self._on_return(*args))
            while not selected:
                self._conn.process_data_events(time_limit=0.05)
                if impl.is_closed:
                    raise TransportError("the broker refused publisher confirms on a new channel")
        else:
            assert self._tracker is not None
            tracker = ConfirmTracker(first_seq=self._tracker.next_seq)
        self._tracker = tracker
        return tracker

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        if self._tracker is not None:
            nack = isinstance(method, pika.spec.Basic.Nack)
            self._tracker.confirm(method.delivery_tag, multiple=method.multiple, nack=nack)
        self._wake()

    def _on_return(self, _channel: Any, method: Any, properties: Any, _body: bytes) -> None:
        if self._tracker is not None:
            self._tracker.returned_unroutable(
                properties.message_id or "", method.exchange, method.routing_key, method.reply_text
            )
        self._wake()

    def _wake(self) -> None:
        """End the current ``process_data_events`` wait now.

        Confirms arrive on the asynchronous channel, which BlockingConnection does not count as an
        event to return for: without this, every wait in ``_pump_confirms`` ran its full time limit
        (one publish took 50 ms). A no-op thread-safe callback is an event it does return for.
        """
        self._conn.add_callback_threadsafe(_nothing)

    def _publish_batch(self, messages: list[Outgoing], todo: list[int], tracker: ConfirmTracker) -> None:
        impl, conn = self._pub._impl, self._conn
        unflushed = 0
        for i in todo:
            m = messages[i]
            while tracker.outstanding and (
                len(tracker.outstanding) >= self.confirm_window
                or tracker.outstanding_bytes >= self.confirm_window_bytes
            ):
                self._pump_confirms(conn, impl)
            properties = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=m.message_id,
                user_id=self.user if self.stamp_user_id else None,
                headers=dict(m.headers),
            )
            impl.basic_publish(m.exchange, m.routing_key, m.body, properties, mandatory=True)
            tracker.sent(i, len(m.body))
            unflushed += len(m.body) + 512
            if unflushed >= 256 * 1024:
                conn.process_data_events(time_limit=0)
                unflushed = 0
        deadline = time.monotonic() + self.confirm_timeout
        while tracker.outstanding:
            if time.monotonic() > deadline:
                tracker.give_up(f"no confirm within {self.confirm_timeout:.0f} s")
                break
            self._pump_confirms(conn, impl)
        tracker.settle_returns({i: (messages[i].message_id, messages[i].exchange, messages[i].routing_key)
                                for i in todo})

    def _pump_confirms(self, conn: Any, impl: Any) -> None:
        conn.process_data_events(time_limit=0.05)
        if impl.is_closed:  # the broker closed the channel: refused, or an unknown exchange
            self._pub = None
            reason = getattr(impl, "_closing_reason", None)
            error = translate(reason, "publishing") if reason is not None else TransportError("publishing")
            if isinstance(error, QueueNotFound):
                raise PublishNotConfirmed(str(error)) from reason
            raise error from reason

    # --- consuming --------------------------------------------------------------------------

    def consume(self, queue: str, handler: Handler, *, prefetch: int = 16) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        spec = _ConsumerSpec(queue, handler, prefetch)
        channel = self._run(f"consuming {queue}", lambda: self._start_consumer(spec))
        self._consumers.append(spec)
        self._consumer_channels.append(channel)

    def _start_consumer(self, spec: _ConsumerSpec) -> Any:
        channel = body_frames.assemble_in_one_buffer(self._conn.channel())
        generation = self._generation
        try:
            channel.basic_qos(prefetch_count=spec.prefetch)

            def on_message(ch: Any, method: Any, properties: Any, body: bytes) -> None:
                tag = _Tag(ch, method.delivery_tag, generation)
                self._unsettled.setdefault(ch, set()).add(method.delivery_tag)
                self._buffer.append((spec.handler, self._delivery(spec.queue, tag, method, properties, body)))

            channel.basic_consume(spec.queue, on_message_callback=on_message)
        except px.ChannelClosedByBroker:
            raise
        except px.AMQPChannelError as e:
            raise translate(e, f"consuming {spec.queue}") from e
        return channel

    def _delivery(self, queue: str, tag: _Tag, method: Any, properties: Any, body: bytes) -> Delivery:
        """Built in the consumer callback, outside the pipeline's guard: nothing here may raise."""
        redelivered = bool(method.redelivered)
        return Delivery(
            queue=queue,
            body=body,
            headers=read_headers(properties.headers, properties.user_id),
            message_id=properties.message_id or "",
            user_id=properties.user_id or None,
            redelivered=redelivered,
            delivery_count=delivery_count(properties.headers, redelivered=redelivered),
            tag=tag,
        )

    def drain(self, timeout: float = 0.0) -> int:
        deadline = time.monotonic() + timeout
        dispatched = 0
        self._declare_some_undeclared()
        while True:
            self._run("receiving", lambda: self._pump(deadline))
            while self._buffer:
                handler, delivery = self._buffer.popleft()
                handler(delivery)
                dispatched += 1
            if time.monotonic() >= deadline:
                return dispatched

    def _pump(self, deadline: float) -> None:
        self._conn.process_data_events(time_limit=max(0.0, deadline - time.monotonic()))
        for i, channel in enumerate(self._consumer_channels):
            # Closed by a channel error (e.g. a double ack), or the consumer cancelled by the broker
            # (basic.cancel: a quorum queue's member restarting under a hub that reached its node while
            # it was still starting): pika drops a cancelled consumer and keeps the channel open, and
            # the hub would wait on it for ever. Consume again, on a new channel: what the old one had
            # in hand goes back to the queue, and its tags are stale (``_live_tag``).
            if channel.is_open and channel.consumer_tags:
                continue
            spec = self._consumers[i]
            why = "cancelled by the broker" if channel.is_open else "closed"
            log.warning("the consumer of %s was %s; consuming again", spec.queue, why)
            if channel.is_open:
                with contextlib.suppress(px.AMQPError):
                    channel.close()
            self._unsettled.pop(channel, None)  # its deliveries come back; their tags are stale
            self._consumer_channels[i] = self._start_consumer(spec)

    def get(self, queue: str) -> Delivery | None:
        got = self._get_many(queue, 1, again_after_reconnect=True)
        return got[0] if got else None

    def get_many(self, queue: str, limit: int) -> list[Delivery]:
        """Up to ``limit`` messages; none when the connection is re-opened under it (the caller's room
        counted the lost consumer's deliveries in hand as its prefetch: the new one has all of it free)."""
        return self._get_many(queue, limit, again_after_reconnect=False) if limit > 0 else []

    def _get_many(self, queue: str, limit: int, *, again_after_reconnect: bool) -> list[Delivery]:
        """Up to ``limit`` messages (at most ``MAX_GETS_AT_ONCE``) with one wait: a ``basic.get`` on
        each of as many channels, all outstanding together (AMQP answers a channel's gets one at a time,
        and pika allows one outstanding per channel). Filling a batch of 32 one ``get`` at a time kept the
        hub waiting for the broker a fifth of its time (issue 13). Each delivery is acked on the channel
        it came on. A channel the broker closes gives back what it had; the others' answers are waited
        for all the same (one left unread would hold its message unacked for ever); the broker's reason is
        raised if nothing came. The answers come in any order: they are put back in the order the queue
        gave them, as the count of messages left after each says (RabbitMQ numbers no message; a publish
        landing between two of one round's gets can blur it)."""

        first = self._generation if self._conn is not None and self._conn.is_open else None

        def take() -> list[Delivery]:
            generation = self._generation
            if not again_after_reconnect and generation != first:
                return []
            channels = self._open_getters(min(limit, MAX_GETS_AT_ONCE))
            got: list[tuple[int, Delivery]] = []  # (messages left in the queue after it, the delivery)
            answered: set[int] = set()
            with contextlib.ExitStack() as stack:
                for ch in channels:
                    stack.enter_context(ch._basic_getempty_result)  # pika's GetEmpty flag, reset on leaving

                    def on_ok(_impl: Any, method: Any, properties: Any, body: bytes, ch: Any = ch) -> None:
                        tag = _Tag(ch, method.delivery_tag, generation)
                        self._unsettled.setdefault(ch, set()).add(method.delivery_tag)
                        delivery = self._delivery(queue, tag, method, properties, body)
                        got.append((method.message_count, delivery))
                        answered.add(id(ch))

                    ch._impl.basic_get(queue, on_ok, auto_ack=False)

                def all_answered() -> bool:
                    return all(id(ch) in answered or ch._basic_getempty_result.ready or ch.is_closed
                               for ch in channels)  # fmt: skip

                self._conn._flush_output(all_answered)
            closed = [ch for ch in channels if ch.is_closed]
            for ch in closed:
                self._unsettled.pop(ch, None)  # its deliveries come back; their tags are stale
            if closed and not got:
                reason = closed[0]._closing_reason
                raise reason if isinstance(reason, px.AMQPError) else px.ChannelWrongStateError(reason)
            got.sort(key=lambda answer: -answer[0])  # stable: those the counts cannot tell apart as they came
            return [delivery for _, delivery in got]

        return self._run(f"getting from {queue}", take)

    def _open_getters(self, count: int) -> list[Any]:
        """``count`` open channels to get on; one the broker closed is replaced (its deliveries came back).
        Opening one reads what came in meanwhile, maybe another's Channel.Close: checked again until
        none closed (pika's ``Channel.basic_get`` does not check, and sends on the number of a closed
        channel, which a channel opened since may have: its answer then finds no callback, the message
        held unacked on an open channel)."""
        while True:
            for i, ch in enumerate(self._getters):
                if not ch.is_open:
                    self._unsettled.pop(ch, None)
                    self._getters[i] = body_frames.assemble_in_one_buffer(self._conn.channel())
            while len(self._getters) < count:
                self._getters.append(body_frames.assemble_in_one_buffer(self._conn.channel()))
            if all(ch.is_open for ch in self._getters):
                return self._getters[:count]

    # --- settling ---------------------------------------------------------------------------

    def _live_tag(self, delivery: Delivery) -> _Tag | None:
        tag = delivery.tag
        if not isinstance(tag, _Tag):
            raise TransportError(f"delivery {delivery.message_id} did not come from this transport")
        if self.is_stale(delivery):
            log.warning("delivery %s came on a lost connection; it is redelivered", delivery.message_id)
            return None
        return tag

    def is_stale(self, delivery: Delivery) -> bool:
        tag = delivery.tag
        return not isinstance(tag, _Tag) or tag.generation != self._generation or not tag.channel.is_open

    def _settle(self, delivery: Delivery, doing: str, op: Callable[[_Tag], None]) -> None:
        tag = self._live_tag(delivery)
        if tag is None:
            return
        try:
            op(tag)
        except _RECONNECTABLE as e:  # the message comes back redelivered; reconnect on next use
            log.warning("%s %s failed: %r", doing, delivery.message_id, e)
        except px.AMQPError as e:
            raise translate(e, f"{doing} {delivery.message_id}") from e
        self._unsettled.get(tag.channel, set()).discard(tag.delivery_tag)

    def ack(self, delivery: Delivery) -> None:
        self._settle(delivery, "acking", lambda t: t.channel.basic_ack(t.delivery_tag))

    def ack_many(self, deliveries: Sequence[Delivery]) -> list[tuple[Delivery, TransportError]]:
        """One ``basic.ack`` with ``multiple`` per channel when ``deliveries`` are every delivery of
        that channel not settled yet up to the highest of them (a batch's: one frame and one flush
        instead of one each); otherwise each on its own."""
        by_channel: dict[Any, dict[int, Delivery]] = {}
        for delivery in deliveries:
            tag = self._live_tag(delivery)
            if tag is not None:  # a stale one is redelivered anyway
                by_channel.setdefault(tag.channel, {})[tag.delivery_tag] = delivery
        failed: list[tuple[Delivery, TransportError]] = []
        for channel, mine in by_channel.items():
            top, open_tags = max(mine), self._unsettled.get(channel, set())
            if len(mine) > 1 and mine.keys() <= open_tags and all(t in mine for t in open_tags if t <= top):

                def ack_up_to(tag: _Tag, top: int = top) -> None:
                    tag.channel.basic_ack(top, multiple=True)

                try:
                    self._settle(mine[top], "acking", ack_up_to)
                except TransportError as err:
                    failed += [(d, err) for d in mine.values()]
                else:
                    open_tags.difference_update(mine)
                continue
            failed += super().ack_many(list(mine.values()))
        return failed

    def _is_live(self, delivery: Delivery) -> bool:
        return self._live_tag(delivery) is not None

    def _requeue(self, delivery: Delivery) -> None:
        self._settle(delivery, "requeueing", lambda t: t.channel.basic_reject(t.delivery_tag, True))

    def _dead_letter(self, delivery: Delivery) -> None:
        self._settle(delivery, "rejecting", lambda t: t.channel.basic_reject(t.delivery_tag, requeue=False))

    # --- moving an installation (``vb hub migrate``): not part of the ``Transport`` interface ----

    def queue_exists(self, queue: str) -> bool:
        def exists() -> bool:
            try:
                self._channel().queue_declare(queue, passive=True)
            except px.ChannelClosedByBroker as e:
                if e.reply_code == 404:
                    return False
                raise
            return True

        return self._run(f"looking for {queue}", exists)

    def unbind_queue(self, queue: str, exchange: str, routing_key: str) -> None:
        """Remove one binding (none there: nothing happens)."""
        self._run(f"unbinding {queue}", lambda: self._channel().queue_unbind(queue, exchange, routing_key))

    def delete_queue(self, queue: str) -> None:
        """Delete ``queue``, which must be empty (checked here: quorum queues do not implement
        ``if_empty``) and unbound, so that nothing can arrive in between."""
        if self.queue_depth(queue):
            raise TransportError(f"{queue} is not empty: not deleted")
        self._run(f"deleting {queue}", lambda: self._channel().queue_delete(queue))

    def queue_depth(self, queue: str) -> int:
        def depth() -> int:
            return int(self._channel().queue_declare(queue, passive=True).method.message_count)

        return self._run(f"reading the depth of {queue}", depth)

    def close(self) -> None:
        """Close the connection; unacknowledged deliveries go back to their queues, redelivered."""
        self._closed = True
        self._drop_connection()

