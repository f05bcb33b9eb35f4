"""The checks every package passes before the hub routes it, one function per check.

Order (cheapest and safest first): size, another dialect, hardened parse, the acceptance profile (the
schemas and the named deviations, ``vbcore.edxml.acceptance``: the same decision ``vb validate`` and
``vb show`` make), signature, sender authorisation. The model is read ONLY from the tree the signature
verified (``VerifiedPackage.root``), so nothing the hub acts on can come from an unsigned part of the
bytes; and it is read without decoding an attachment (the signature is checked before, and the hub
routes on the header alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vbcore.deviations import Deviation, summarise
from vbcore.edxml import ParseLimits, read_element
from vbcore.edxml.acceptance import Accepted, accept
from vbcore.edxml.aside import Aside
from vbcore.edxml.positions import locate_refusal
from vbcore.errors import PackageRefused, SenderNotAuthorised
from vbcore.model import Edoc, StatusPackage
from vbcore.security.signing import SignaturePolicy, TrustStore, bind_to_sender, verify_package

if TYPE_CHECKING:
    from cryptography import x509


@dataclass(frozen=True)
class Relayed:
    """How a package a gateway relayed from another axis was let in (``vbcore.hub.relay``): through
    which gateway, what its sender's own signature proved, under which relay policy."""

    gateway: str
    verdict: str  # ``vbcore.security.verdict.SignatureVerdict``
    policy: str  # ``vbcore.directory.RELAY_POLICIES``
    detail: str = ""  # for ``foreign-ca``: the issuer the hub does not trust

    @property
    def trace(self) -> str:
        """The trace event that records it with the document (``vb track`` shows it)."""
        return ":".join(("relay", self.gateway, self.verdict, self.policy, self.detail))


@dataclass(frozen=True)
class CheckedPackage:
    """A package that passed every check: read from the verified tree, its sender agreed three ways."""

    package: Edoc | StatusPackage
    sender: str  # From/OrganId == the certificate's agency == the broker user
    algorithm: str
    relayed: Relayed | None = None  # set when a gateway relayed it (the broker user is the gateway)
    warnings: tuple[Deviation, ...] = ()  # what it does differently from QCVN 102, each named


def check_structure(body: bytes, limits: ParseLimits) -> Accepted:
    """Size (``limits.max_bytes``, before a byte is parsed), another dialect, hardened parse, then the
    acceptance profile (raises ``PackageTooLarge``, ``ForeignDialect``, ``MalformedPackage`` & co or
    ``SchemaViolation``, each saying where).

    Returns the parsed tree, for ``verify_and_read`` to use instead of parsing the bytes again, the
    texts it holds a mark for (an attachment's base64 stays in ``body``: ``vbcore.edxml.aside``), and the
    deviations found in it (before the signature check: the verified tree has no signature left)."""
    return accept(body, limits)


def verify_and_read(
    body: bytes,
    *,
    trust: TrustStore,
    policy: SignaturePolicy,
    agency_certificates: Mapping[str, x509.Certificate] | None = None,
    parsed: Any = None,
    aside: Aside | None = None,
    deviations: tuple[Deviation, ...] = (),
) -> CheckedPackage:
    """Verify the signature, read the package from the verified tree, and bind the signer to
    ``From/OrganId`` (``signing.bind_to_sender``).

    The hub routes on the header alone: attachments are counted but never decoded or unzipped here
    (the package's ``attachments`` is empty), so no ZIP bomb costs the hub a byte of disk; each
    receiver's reader decodes them, within the per-package limits, after the signature."""
    verified = verify_package(
        body, trust=trust, policy=policy, expected_agency=None, parsed=parsed, aside=aside
    )
    try:
        read = read_element(verified.root, attachments=False)
    except PackageRefused as err:  # said where in the bytes: the element by its path, in the tree as sent
        locate_refusal(err, parsed if parsed is not None else verified.root, body)
        raise
    sender = bind_to_sender(verified, read.package.from_.organ_id, agency_certificates)
    warnings = summarise(deviations + read.warnings)
    return CheckedPackage(read.package, sender, verified.algorithm, warnings=warnings)


def authorise_sender(claimed_by_broker: str, checked: CheckedPackage) -> None:
    """The broker-validated publisher must be the package's (signed) sender (a message with no
    broker-validated publisher never gets here: ``SenderUnknown``)."""
    if claimed_by_broker != checked.sender:
        raise SenderNotAuthorised(
            f"broker user {claimed_by_broker} may only send as itself, "
            f"but the package is from {checked.sender}",
            vi=f"người dùng {claimed_by_broker} trên máy chủ chuyển tin chỉ được gửi với danh nghĩa chính "
            f"mình, nhưng gói tin là của {checked.sender}",
        )
