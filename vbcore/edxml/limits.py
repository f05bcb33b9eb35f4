"""Every bound on the work one package may cause while it is read, stated once.

A package is hostile until checked, and its size alone does not bound what reading it costs: an
80 MiB package can hold 180 ZIP bombs, 50,000 ``To`` or 14,000 copies of a certificate. Each bound
below is refused with its own error (``vbcore.errors``) that names what was over which limit and
where. The defaults leave room for every real package seen (the interoperability corpus, at most a
few attachments, addressees and certificates) by orders of magnitude; an operator who raises one
raises it here, for the hub and every reader alike (``Hub(limits=...)``, ``read_package(limits=...)``;
the hub's size limit is its ``HubConfig.max_bytes``, which it reads with).

``Budget`` keeps the per-package totals while one package is read: every byte the reader decodes
from base64 and every byte it writes (to memory or to a spool file, unzipped entries included)
is counted against them, across all the package's attachments.
"""

from __future__ import annotations

from dataclasses import dataclass

from vbcore.errors import AttachmentsTooLarge

MiB = 1024 * 1024

# A ZIP entry that expands to less than this is never refused for its compression ratio: a text
# file of repeated lines or a white page saved as a bitmap compresses several hundred times and
# harms nobody at this size; a bomb needs size to do harm.
ZIP_RATIO_FREE_BELOW = 8 * MiB

MAX_PACKAGE_BYTES = 80 * MiB
"""The one size limit of a package, for every reader, signer, verifier and hub (``ParseLimits.max_bytes``,
``HubConfig.max_bytes``, ``vb hub run --max-bytes``; the hub's prefetch is counted in it). No official
limit is published; gateways accept attachments of 50 MB (docs/domain.md §3), and base64 makes a 50 MiB
attachment a 66.7 MiB package: 80 MiB admits it with room for the rest of the package (issue 13).
RabbitMQ's own cap, ``max_message_size``, is 128 MiB by default (3.10), above it."""


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on what the reader accepts in one package (each refused with a precise reason).

    - ``max_bytes``: the package itself (``PackageTooLarge``), checked before a byte is parsed
      (``MAX_PACKAGE_BYTES``);
    - ``max_depth``: nesting of elements (``PackageTooDeep``);
    - ``max_elements``: elements in the whole package (``TooManyElements``): bounds the tree's memory;
    - ``max_namespace_declarations``: ``xmlns`` declarations in the whole package
      (``TooManyNamespaces``): libxml2's inclusive canonicalisation, which a sender may choose for
      its signature (the VPCP SDK's producers do), costs each element time in the number of
      declarations in scope: 20,000 declarations took 64 s, 1,920 redeclared along one path 9 s
      for 40,000 elements. Real packages carry at most 5;
    - ``max_repeats``: one element repeated under one parent (``TooManyItems``): ``To``,
      ``TraceHeader``, ``ResponseFor``, ``Receiver``, ``Reference``...; 5,000 leaves room for a
      letter to every one of the 3,321 communes;
    - ``max_attachments``: ``Attachment`` elements (``TooManyAttachments``);
    - ``max_unzipped_bytes``: one attachment's ZIP entry, declared or real (``AttachmentTooLarge``);
    - ``max_zip_ratio``: expanded / compressed size of a ZIP entry over ``ZIP_RATIO_FREE_BELOW``
      (``CompressionRatioTooHigh``); deflate reaches about 1,000 at most, documents 1.1-20;
    - ``max_decoded_bytes``: base64-decoded bytes of all attachments together (None: ``max_bytes``)
      (``AttachmentsTooLarge``);
    - ``max_spooled_bytes``: every byte the reader materialises for the attachments, decoded and
      unzipped, in memory or on disk (``AttachmentsTooLarge``): what one package may cost a
      receiver's disk;
    - ``max_certificates``: ``X509Certificate`` elements in a signature's ``KeyInfo``
      (``TooManyCertificates``): a chain is the signer's certificate, up to four CAs and the root.
    """

    max_bytes: int = 80 * MiB
    max_depth: int = 64
    max_elements: int = 200_000
    max_namespace_declarations: int = 64
    max_repeats: int = 5_000
    max_attachments: int = 1_000
    max_unzipped_bytes: int = 256 * MiB
    max_zip_ratio: int = 100
    max_decoded_bytes: int | None = None
    max_spooled_bytes: int = 512 * MiB
    max_certificates: int = 8

    @property
    def decoded_limit(self) -> int:
        return self.max_bytes if self.max_decoded_bytes is None else self.max_decoded_bytes


DEFAULT_LIMITS = ParseLimits()


class Budget:
    """The running totals of one package's attachments against ``max_decoded_bytes`` and
    ``max_spooled_bytes``; one per read, shared by every attachment of the package."""

    __slots__ = ("decoded", "limits", "spooled")

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.decoded = 0
        self.spooled = 0

    def decode(self, size: int, label: str) -> None:
        """Count ``size`` more base64-decoded bytes of attachment ``label``."""
        self.decoded += size
        limit = self.limits.decoded_limit
        if self.decoded > limit:
            raise AttachmentsTooLarge("decoded", self.decoded, limit, label)

    def spool(self, size: int, label: str) -> None:
        """Count ``size`` more bytes written for attachment ``label`` (decoded or unzipped)."""
        self.spooled += size
        limit = self.limits.max_spooled_bytes
        if self.spooled > limit:
            raise AttachmentsTooLarge("spooled", self.spooled, limit, label)
