"""How an agency talks to the hub: submit signed packages, fetch verified ones from its inbox.

Used by the connector runtime, ``vb send`` and ``vb demo``::

    client = AgencyClient(transport, agency="000.00.00.H24", key=key, trust=trust)
    client.submit(edoc)                      # written, signed with the agency's key, published
    incoming = client.fetch(timeout=5)       # verified; read from the verified tree only
    if incoming is not None:
        ...                                  # hand it to the DMS
        client.ack(incoming)

Guarantees of ``fetch``: every message it returns verified (trusted certificate bound to the package's
``From/OrganId``), or vouched for by the hub: a package a gateway relayed from another axis under the
operator's relay policy (unsigned, or signed by a CA this agency does not trust) is accepted when the
hub's own broker user delivered it saying so, and this client finds the same verdict
(``Incoming.relayed_by``, ``Incoming.verdict``). A message that fails verification is parked with the
reason and, when it is a document, answered with a signed 02 to its sender; it is never returned.
Delivery is at least once: the hub may re-publish a document after a crash (same message id
``<document_id>|<recipient>``), and this client drops a message whose id it acknowledged recently (the
last ``seen_limit`` ids, in memory). A process that restarts loses that memory: a connector keeps its
own record of delivered DocumentIds (the connector runtime does).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vbcore.edxml import read_element
from vbcore.errors import EvidenceInvalid, PackageRefused, TransportError
from vbcore.evidence.receipt import Receipt, verify_receipt
from vbcore.lang import DEFAULT_LANG, Lang, Text
from vbcore.model import Edoc, Organization, ResponseFor, StatusPackage
from vbcore.security.signing import (
    SignaturePolicy,
    SigningKey,
    TrustStore,
    bind_to_sender,
    sign_written,
    verify_package,
)
from vbcore.security.verdict import SignatureVerdict, judge_signature
from vbcore.status import StatusCode
from vbcore.timezones import utc_now, vietnam_local
from vbcore.transport import Delivery, Outgoing, Transport
from vbcore.transport import names as n
from vbcore.transport.names import Names

if TYPE_CHECKING:
    from cryptography import x509

_POLL_MIN, _POLL_MAX = 0.005, 0.05
# Who refuses, before what was wrong, in the 02 this client writes itself.
_COULD_NOT_VERIFY = Text(vi="Cơ quan {agency} không kiểm tra được gói tin. ",
                         en="Agency {agency} could not verify the package. ")


def refused_recipients(delivery: Delivery) -> tuple[str, ...]:
    """The recipients a hub's 02 refused (one 02 may name several: its ``x-vbus-refused-recipients``
    header); empty when it refused the whole package."""
    return tuple(delivery.headers.get(n.REFUSED_RECIPIENTS, "").split())


def _kind(package: Edoc | StatusPackage) -> str:
    return n.KIND_STATUS if isinstance(package, StatusPackage) else n.KIND_EDOC


def _document_id(package: Edoc | StatusPackage) -> str | None:
    return package.document_id if isinstance(package, StatusPackage) else package.effective_document_id


@dataclass(frozen=True)
class Signed:
    """A package already signed, to publish (``AgencyClient.submit_many_signed``)."""

    xml: bytes
    kind: str  # ``names.KIND_EDOC`` or ``names.KIND_STATUS``
    document_id: str | None = None  # the header the hub's operators and refusals read
    message_id: str | None = None  # None: a new one


@dataclass(frozen=True)
class Incoming:
    """One verified message from the inbox."""

    kind: str  # "edoc" | "status" | "refusal"
    package: Edoc | StatusPackage  # read from the VERIFIED tree
    raw: bytes  # the signed bytes as received
    signer: str  # agency code bound to the verifying certificate
    headers: Mapping[str, str]
    delivery: Delivery
    relayed_by: str | None = None  # the gateway that relayed it from another axis (the hub vouched)
    verdict: str = SignatureVerdict.VALID.value  # ``SignatureVerdict``: what the sender's signature proved


class AgencyClient:
    def __init__(
        self,
        transport: Transport,
        *,
        agency: str,
        key: SigningKey,
        trust: TrustStore,
        policy: SignaturePolicy = SignaturePolicy(),  # noqa: B008 (frozen, immutable default)
        names: Names = Names(),  # noqa: B008 (frozen, immutable default)
        seen_limit: int = 10_000,
        prefetch: int = 64,
        agency_certificates: Mapping[str, x509.Certificate] | None = None,
        lang: Lang = DEFAULT_LANG,
        receipts: bool = False,
        on_receipt: Callable[[Receipt], None] | None = None,
    ) -> None:
        self.transport = transport
        self.agency = agency
        self.key = key
        self.trust = trust
        self.policy = policy
        self.names = names
        # Certificates registered for agencies in the directory (``pki.certificates_by_agency``).
        self.agency_certificates = dict(agency_certificates or {})
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_limit = seen_limit
        self.prefetch = prefetch
        self.lang = lang  # of the 02s this client writes itself (``vbcore.lang``)
        self._buffer: deque[Delivery] = deque()
        self._consuming = False
        # Ask the hub for its signed receipts of what this client submits (off by default: a vendor's
        # software that does not keep them need not receive them). Each verified receipt goes to
        # ``on_receipt`` (the connector runtime's ledger), else is kept in ``received_receipts``.
        self.receipts = receipts
        self.on_receipt = on_receipt
        self.received_receipts: list[Receipt] = []

    # --- sending ------------------------------------------------------------------------------

    def submit(self, package: Edoc | StatusPackage) -> str:
        """Write, sign with this agency's key and publish to the hub; returns the message id."""
        signed = sign_written(package, self.key)
        return self.submit_signed(signed, kind=_kind(package), document_id=_document_id(package))

    def submit_many(self, packages: Sequence[Edoc | StatusPackage]) -> list[str]:
        """Write, sign and publish every package with their confirms outstanding together: one wait
        for the broker instead of one per package (a connector catching up on a backlog, a batch of
        01s). Returns the message ids in order. ``PublishNotConfirmed`` when the broker did not confirm
        some: its ``message_ids`` are all of those (its text names five at most); the others went."""
        return self.submit_many_signed(
            [Signed(sign_written(p, self.key), _kind(p), _document_id(p)) for p in packages])

    def submit_many_signed(self, packages: Sequence[Signed]) -> list[str]:
        """Publish already signed packages with their confirms outstanding together; the message ids in
        order. ``PublishNotConfirmed`` as ``submit_many`` (give each its ``message_id`` to tell which)."""
        messages = [self._outgoing(p.xml, kind=p.kind, message_id=p.message_id, document_id=p.document_id)
                    for p in packages]  # fmt: skip
        self.transport.publish_many(messages)
        return [m.message_id for m in messages]

    def submit_signed(
        self, xml: bytes, *, kind: str, message_id: str | None = None, document_id: str | None = None
    ) -> str:
        """Publish already signed bytes (confirmed by the broker before this returns)."""
        m = self._outgoing(xml, kind=kind, message_id=message_id, document_id=document_id)
        self.transport.publish(m.exchange, m.routing_key, m.body, message_id=m.message_id, headers=m.headers)
        return m.message_id

    def _outgoing(
        self, xml: bytes, *, kind: str, message_id: str | None = None, document_id: str | None = None
    ) -> Outgoing:
        headers = {n.KIND: kind, n.SENDER: self.agency}
        if self.receipts:
            headers[n.RECEIPTS] = n.RECEIPTS_WANTED
        if document_id:
            headers[n.DOCUMENT_ID] = document_id
        message_id = message_id or uuid.uuid4().hex
        return Outgoing(self.names.ingress_exchange, self.agency, xml, message_id, headers)

    # --- receiving ----------------------------------------------------------------------------

    def fetch(self, timeout: float = 0.0) -> Incoming | None:
        """The next verified message of this agency's inbox, or None when none came within ``timeout``.

        The inbox is consumed (up to ``prefetch`` messages in flight to this client, unacknowledged until
        ``ack``): no broker round trip per message, and a closed connection gives them all back.
        """
        if not self._consuming:
            self.transport.consume(self.names.inbox(self.agency), self._buffer.append, prefetch=self.prefetch)
            self._consuming = True
        deadline = time.monotonic() + timeout
        pause = _POLL_MIN
        while True:
            if not self._buffer:
                self.transport.drain(0)
            while self._buffer:
                incoming = self._accept(self._buffer.popleft())
                if incoming is not None:
                    return incoming
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.transport.drain(min(pause, remaining))
            pause = min(pause * 2, _POLL_MAX)

    def ack(self, incoming: Incoming) -> None:
        self.transport.ack(incoming.delivery)
        self._remember(incoming.delivery.message_id)

    def requeue(self, incoming: Incoming) -> None:
        self.transport.reject(incoming.delivery, requeue=True)

    def park(self, incoming: Incoming, reason: str) -> None:
        """Give up on a verified message: it goes to the parking queue with ``reason`` (for the operator)."""
        self.transport.reject(incoming.delivery, requeue=False, reason=reason)

    def _accept(self, delivery: Delivery) -> Incoming | None:
        if delivery.message_id in self._seen:
            self.transport.ack(delivery)  # the hub re-published it after a crash: already handled
            return None
        kind = delivery.headers.get(n.KIND, n.KIND_EDOC)
        if kind == n.KIND_RECEIPT:
            self._take_receipt(delivery)
            return None
        verdict = SignatureVerdict.VALID
        try:
            package, signer = self._verify(delivery.body)
        except PackageRefused as err:
            vouched = self._vouched(delivery)
            if vouched is None:
                self._refuse(delivery, kind, err)
                return None
            package, signer, verdict = vouched
        # The kind follows the verified package; the header only tells a hub's refusal from a status.
        if isinstance(package, Edoc):
            kind = n.KIND_EDOC
        elif kind != n.KIND_REFUSAL:
            kind = n.KIND_STATUS
        relayed_by = delivery.headers.get(n.RELAYED_BY) if delivery.user_id == self.names.hub_user else None
        return Incoming(kind, package, delivery.body, signer, dict(delivery.headers), delivery, relayed_by,
                        verdict.value)  # fmt: skip

    def _take_receipt(self, delivery: Delivery) -> None:
        """A receipt of the hub's (``vbcore.evidence.receipt``): kept once its seal verifies against
        this agency's trust store and the hub's broker user delivered it; parked otherwise."""
        try:
            if delivery.user_id != self.names.hub_user:
                raise EvidenceInvalid(f"a receipt published by {delivery.user_id!r}, not by the hub",
                                      vi=f"biên nhận do {delivery.user_id!r} gửi, không phải trục")
            receipt = Receipt.from_json(delivery.body)
            verify_receipt(receipt, self.trust)
        except EvidenceInvalid as err:
            self.transport.reject(delivery, requeue=False, reason=f"{err.reason}: {err}")
            return
        try:
            if self.on_receipt is not None:
                self.on_receipt(receipt)
            else:
                self.received_receipts.append(receipt)
        except BaseException:
            self.transport.reject(delivery, requeue=True)
            raise
        self.transport.ack(delivery)
        self._remember(delivery.message_id)

    def _vouched(self, delivery: Delivery) -> tuple[Edoc | StatusPackage, str, SignatureVerdict] | None:
        """A relayed package this client cannot verify itself, accepted on the hub's word: delivered by
        the hub's broker user (the broker checked it) with the gateway and the verdict the hub found,
        and this client finds the same verdict (a signature that does not verify is never accepted).
        Its sender is its ``From/OrganId``, as the gateway relayed it. None: not vouched for."""
        headers = delivery.headers
        gateway, said = headers.get(n.RELAYED_BY), headers.get(n.SIGNATURE_VERDICT)
        if delivery.user_id != self.names.hub_user or not gateway or said == SignatureVerdict.VALID:
            return None
        try:
            judged = judge_signature(delivery.body, trust=self.trust, policy=self.policy)
        except PackageRefused:
            return None
        found = judged.verdict
        if found is SignatureVerdict.VALID and judged.signer == gateway:
            found = SignatureVerdict.GATEWAY
        if found != said:
            return None
        package = read_element(judged.verified.root, aside=judged.verified.aside).package
        return package, package.from_.organ_id, found

    def verify(self, body: bytes) -> tuple[Edoc | StatusPackage, str]:
        """The package in ``body`` read from its verified tree, and the agency that signed it
        (``PackageRefused`` when it does not verify)."""
        return self._verify(body)

    def _verify(self, body: bytes) -> tuple[Edoc | StatusPackage, str]:
        verified = verify_package(body, trust=self.trust, policy=self.policy, expected_agency=None)
        package = read_element(verified.root, aside=verified.aside).package
        signer = bind_to_sender(verified, package.from_.organ_id, self.agency_certificates)
        return package, signer

    def _refuse(self, delivery: Delivery, kind: str, err: PackageRefused) -> None:
        """Park it with the reason; a document also gets a signed 02 back to its sender."""
        sender = delivery.headers.get(n.SENDER)
        if kind == n.KIND_EDOC and sender:
            status = StatusPackage(
                from_=Organization(organ_id=self.agency),
                response_for=ResponseFor(organ_id=sender, document_id=delivery.headers.get(n.DOCUMENT_ID)),
                status_code=StatusCode.REFUSED,
                description=_COULD_NOT_VERIFY.format(agency=self.agency)(self.lang) + err.describe(self.lang),
                timestamp=vietnam_local(utc_now()),
            )
            try:
                self.submit(status)
            except TransportError:
                self.transport.reject(delivery, requeue=True)
                raise
        self.transport.reject(delivery, requeue=False, reason=f"{err.reason}: {err}")

    def _remember(self, message_id: str) -> None:
        self._seen[message_id] = None
        if len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)
