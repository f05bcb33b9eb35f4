"""Packages a gateway relays from another axis (docs/connectors.md, "A gateway for a whole axis").

A gateway is one broker user (and one certificate) that speaks for every agency the directory says is
reached via it. So the sender check becomes: the broker user is the sender, or the gateway the sender
is reached via. The remote sender's own signature is checked where present
(``vbcore.security.verdict``) and bound to it, and the verdict is weighed against the gateway's relay
policy (the operator's, in the gateway's directory entry):

======================  ==========================================================================
verdict                 let in when the gateway's ``relay`` is
======================  ==========================================================================
``valid``               any policy: it chains to a CA the hub trusts and names the sender
``gateway``             any policy: signed by the gateway itself for an agency it relays for (what
                        the gateway writes on its own, a 02 when the other axis refused a package)
``foreign-ca``          ``foreign-ca`` or ``unsigned``
``unsigned``            ``unsigned``
======================  ==========================================================================

A signature that does not verify, or that names another agency than the sender, is refused under
every policy. What let a package in is recorded with it (``Relayed.trace``, shown by ``vb track``) and
travels in headers to its receivers, whose clients accept from the hub what it vouched for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vbcore.directory import DEFAULT_RELAY, RELAY_TEXT, Directory
from vbcore.edxml import DEFAULT_LIMITS, ParseLimits, read_element
from vbcore.edxml.aside import Aside
from vbcore.errors import RelayNotAllowed, SenderNotAuthorised, SignerMismatch, one_line
from vbcore.hub.checks import CheckedPackage, Relayed
from vbcore.security.signing import SignaturePolicy, TrustStore
from vbcore.security.verdict import Judged, SignatureVerdict, judge_signature

if TYPE_CHECKING:
    from cryptography import x509

V = SignatureVerdict
ALLOWED: dict[str, frozenset[SignatureVerdict]] = {
    "trusted": frozenset({V.VALID, V.GATEWAY}),
    "foreign-ca": frozenset({V.VALID, V.GATEWAY, V.FOREIGN_CA}),
    "unsigned": frozenset({V.VALID, V.GATEWAY, V.FOREIGN_CA, V.UNSIGNED}),
}
"""The verdicts each relay policy (``RELAY_POLICIES``, most careful first) lets in."""
MAX_DETAIL = 300
"""Characters of a foreign CA's name kept in the record (it is the sender's text)."""


def check_relayed(
    body: bytes,
    *,
    gateway: str,
    directory: Directory,
    trust: TrustStore,
    policy: SignaturePolicy,
    agency_certificates: Mapping[str, x509.Certificate] | None = None,
    parsed: Any = None,
    aside: Aside | None = None,
    limits: ParseLimits = DEFAULT_LIMITS,
) -> CheckedPackage:
    """The package ``gateway`` published, checked as the module docstring says; its ``sender`` is the
    remote agency and ``relayed`` records how it was let in."""
    judged = judge_signature(body, trust=trust, policy=policy, parsed=parsed, aside=aside, limits=limits)
    package = read_element(judged.verified.root, attachments=False).package
    sender = package.from_.organ_id
    authorise_relay(gateway, sender, directory)
    verdict = _bound(judged, sender, gateway, agency_certificates or {})
    allowed = directory.relay_policy(gateway) or DEFAULT_RELAY
    if verdict not in ALLOWED[allowed]:
        raise RelayNotAllowed(
            f"gateway {gateway} relayed a package from {sender} whose own signature is: "
            f"{verdict.text().en}; its relay policy is {allowed!r} ({RELAY_TEXT[allowed].en})",
            vi=f"cổng {gateway} chuyển tiếp gói tin của {sender} mà chữ ký số của cơ quan gửi: "
            f"{verdict.text().vi}; chính sách chuyển tiếp của cổng là {allowed!r} ({RELAY_TEXT[allowed].vi})",
        )
    detail = ""
    if verdict is V.FOREIGN_CA and judged.verified.certificate is not None:
        detail = one_line(judged.verified.certificate.issuer.rfc4514_string())[:MAX_DETAIL]
    relayed = Relayed(gateway, verdict.value, allowed, detail)
    return CheckedPackage(package, sender, judged.verified.algorithm, relayed)


def authorise_relay(gateway: str, sender: str, directory: Directory) -> None:
    """``gateway`` relays only for the agencies the directory says are reached via it."""
    via = directory.gateway_of(sender)
    if via == gateway:
        return
    where = f"reached via {via}" if via else "on this hub itself" if sender in directory else "not in it"
    where_vi = f"qua cổng {via}" if via else "trên chính trục này" if sender in directory else "không có"
    raise SenderNotAuthorised(
        f"gateway {gateway} relays only for the agencies reached via it; "
        f"the directory says {sender} is {where}",
        vi=f"cổng {gateway} chỉ chuyển tiếp cho các cơ quan được kết nối qua cổng; theo danh bạ, {sender} "
        f"{where_vi}",
    )


def _bound(
    judged: Judged, sender: str, gateway: str, registered: Mapping[str, x509.Certificate]
) -> SignatureVerdict:
    """The verdict once the certificate is bound: to the sender (or the gateway, for ``valid``);
    a certificate naming another agency is a ``SignerMismatch`` whatever its CA."""
    cert = judged.verified.certificate
    if cert is None:
        return judged.verdict
    named = judged.signer
    if judged.verdict is V.VALID:
        if named == sender or registered.get(sender) == cert:
            return V.VALID
        if named == gateway or registered.get(gateway) == cert:
            return V.GATEWAY
    elif named in (None, sender):
        return V.FOREIGN_CA
    raise SignerMismatch(
        f"the package says it is from {sender} but is signed with the certificate of "
        f"{named or 'an unidentified agency'}",
        vi=f"gói tin ghi là của {sender} nhưng được ký bằng chứng thư số của "
        f"{named or 'một cơ quan không xác định'}",
    )
