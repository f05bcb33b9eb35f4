"""A Merkle tree over a batch of receipts: one signature seals many, each receipt provable alone.

The hub issues a receipt for every package accepted or refused and for every copy delivered: a
circular to 1,000 agencies is 1,000 *delivered* receipts. One RSA signature each would cost the hub
more than the delivery itself (``bench/bench_evidence_bundle.py``), and one signed list of the batch
would show each holder every other document of the batch. So the hub signs the root of a Merkle tree
of the batch's receipts (RFC 6962's shape: a leaf is ``SHA-256(0x00 || leaf bytes)``, a node
``SHA-256(0x01 || left || right)``, an odd node is carried up unchanged), and each receipt carries the
path from its leaf to that root: the siblings' hashes only, which say nothing of other documents.

``root_and_paths(leaves)`` -> the root and one path per leaf; ``root_from(leaf, path)`` recomputes a
root from one leaf. A path is a list of ``"L<hex>"`` (the sibling is on the left) / ``"R<hex>"``.
"""

from __future__ import annotations

import hashlib


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_and_paths(leaves: list[bytes]) -> tuple[str, list[list[str]]]:
    """The hex root over ``leaves`` (each the bytes of one receipt) and each leaf's path to it."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    level = [leaf_hash(leaf) for leaf in leaves]
    paths: list[list[str]] = [[] for _ in leaves]
    owners: list[list[int]] = [[i] for i in range(len(leaves))]  # the leaves under each node
    while len(level) > 1:
        up, up_owners = [], []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):  # odd one out: carried up unchanged
                up.append(level[i])
                up_owners.append(owners[i])
                continue
            left, right = level[i], level[i + 1]
            for leaf in owners[i]:
                paths[leaf].append("R" + right.hex())
            for leaf in owners[i + 1]:
                paths[leaf].append("L" + left.hex())
            up.append(_node(left, right))
            up_owners.append(owners[i] + owners[i + 1])
        level, owners = up, up_owners
    return level[0].hex(), paths


def root_from(leaf: bytes, path: list[str]) -> str:
    """The root that ``leaf`` with ``path`` leads to (raises ``ValueError`` on a malformed path)."""
    node = leaf_hash(leaf)
    for step in path:
        side, sibling = step[:1], bytes.fromhex(step[1:])
        if len(sibling) != 32 or side not in ("L", "R"):
            raise ValueError(f"not a Merkle path step: {step[:80]!r}")
        node = _node(sibling, node) if side == "L" else _node(node, sibling)
    return node.hex()
