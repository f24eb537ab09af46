"""Proving a firehose record is its author's: the commit's signature and the record's place
in the signed repository tree.

A `#commit` frame carries the signed commit block and, since sync v1.1, every Merkle Search
Tree node on the path to each changed record. So a record is proven when (1) the commit block
is signed by the `#atproto` key of the repository's DID document (ECDSA over SHA-256 of the
commit's DAG-CBOR without its `sig`, low-S, 64-byte r‖s; secp256k1 or P-256), and (2) walking
the tree from the commit's `data` root by the record's path (`collection/rkey`) arrives at the
record's CID, every block on the way matching its hash (atproto.com/specs/repository).
"""

from __future__ import annotations

from typing import Any

import libipld
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from hashcart.errors import HashcartError
from hashcart.networks.bluesky.car import Blocks, CarError

# Multicodec prefixes of did:key / Multikey public keys (compressed points follow).
_SECP256K1_PUB = b"\xe7\x01"
_P256_PUB = b"\x80\x24"
_LEGACY_TYPES: dict[str, ec.EllipticCurve] = {
    "EcdsaSecp256k1VerificationKey2019": ec.SECP256K1(),
    "EcdsaSecp256r1VerificationKey2019": ec.SECP256R1(),
}
_ORDERS = {
    "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
}


class Unproven(HashcartError, ValueError):
    """The commit or the record could not be proven (bad signature, missing or altered block,
    a key we cannot read)."""


def public_key(multibase: str, key_type: str | None) -> ec.EllipticCurvePublicKey:
    """The `#atproto` key of a DID document: a Multikey (multicodec prefix + compressed
    point) or a legacy type naming the curve (the point without prefix)."""
    try:
        _, data = libipld.decode_multibase(multibase)
    except ValueError as error:
        raise Unproven(f"unreadable signing key: {error}") from None
    curve: ec.EllipticCurve
    if key_type in _LEGACY_TYPES:
        curve, point = _LEGACY_TYPES[key_type], data
    elif data.startswith(_SECP256K1_PUB):
        curve, point = ec.SECP256K1(), data[2:]
    elif data.startswith(_P256_PUB):
        curve, point = ec.SECP256R1(), data[2:]
    else:
        raise Unproven("the signing key is neither secp256k1 nor P-256")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    except ValueError as error:
        raise Unproven(f"unreadable signing key: {error}") from None


def verify_commit(
    blocks: Blocks, commit_cid: bytes, did: str, key: ec.EllipticCurvePublicKey
) -> dict[str, Any]:
    """The commit object once its signature checks out for `did`; raises Unproven."""
    try:
        raw = blocks.raw(commit_cid)
        commit = blocks.decoded(commit_cid)
    except CarError as error:
        raise Unproven(f"commit block: {error}") from None
    if not isinstance(commit, dict) or commit.get("did") != did:
        raise Unproven("the commit is not the repository's")
    signature = commit.get("sig")
    if not isinstance(signature, bytes) or len(signature) != 64:
        raise Unproven("the commit has no 64-byte signature")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if s > _ORDERS[key.curve.name] // 2:
        raise Unproven("the commit signature is not low-S")
    try:
        key.verify(encode_dss_signature(r, s), _without_sig(raw), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise Unproven("the commit signature does not match the DID's key") from None
    return commit


def record_cid(blocks: Blocks, root: bytes, path: str) -> bytes | None:
    """The CID the signed tree holds at `path`, or None when it holds none. Raises Unproven
    when a node on the way is missing or altered."""
    key = path.encode()
    node_cid: bytes | None = root
    for _ in range(64):  # trees are a few levels deep; a loop means a forged tree
        if node_cid is None:
            return None
        try:
            node = blocks.decoded(node_cid)
        except CarError as error:
            raise Unproven(f"tree node: {error}") from None
        step = _next_in_node(node, key)
        if isinstance(step, _Found):
            return step.cid
        node_cid = step
    raise Unproven("the tree is too deep")


class _Found:
    def __init__(self, cid: bytes) -> None:
        self.cid = cid


def _next_in_node(node: Any, key: bytes) -> bytes | _Found | None:
    """Within one MST node: the value for `key`, or the subtree where it would be."""
    if not isinstance(node, dict) or not isinstance(node.get("e"), list):
        raise Unproven("malformed tree node")
    subtree = node.get("l")
    previous = b""
    for entry in node["e"]:
        if not isinstance(entry, dict):
            raise Unproven("malformed tree entry")
        prefix, suffix = entry.get("p"), entry.get("k")
        if not isinstance(prefix, int) or not isinstance(suffix, bytes) or prefix > len(previous):
            raise Unproven("malformed tree entry")
        full = previous[:prefix] + suffix
        if full == key:
            value = entry.get("v")
            if not isinstance(value, bytes):
                raise Unproven("malformed tree entry")
            return _Found(value)
        if key < full:
            break
        subtree, previous = entry.get("t"), full
    if subtree is not None and not isinstance(subtree, bytes):
        raise Unproven("malformed tree link")
    return subtree


def _without_sig(raw: bytes) -> bytes:
    """The commit's DAG-CBOR with its `sig` entry taken out, byte for byte otherwise: what
    was signed (re-encoding a decoded commit would lose which byte strings are CID links)."""
    first = raw[0]
    if first >> 5 != 5 or first & 31 >= 24:
        raise Unproven("the commit is not a small DAG-CBOR map")
    count = first & 31
    pos = 1
    kept = bytearray()
    removed = 0
    for _ in range(count):
        key_end = _item_end(raw, pos)
        entry_end = _item_end(raw, key_end)
        if raw[pos:key_end] == b"\x63sig":  # text(3) "sig"
            removed += 1
        else:
            kept += raw[pos:entry_end]
        pos = entry_end
    if removed != 1 or pos != len(raw):
        raise Unproven("the commit's map is malformed")
    return bytes([0xA0 | (count - 1)]) + bytes(kept)


def _item_end(data: bytes, pos: int, depth: int = 0) -> int:
    """Where the CBOR item at `pos` ends (definite lengths only, as DAG-CBOR requires)."""
    if depth > 32 or pos >= len(data):
        raise Unproven("malformed CBOR in the commit")
    initial = data[pos]
    major, info = initial >> 5, initial & 31
    pos += 1
    if info < 24:
        argument = info
    elif info in (24, 25, 26, 27):
        width = 1 << (info - 24)
        argument = int.from_bytes(data[pos : pos + width], "big")
        pos += width
    else:
        raise Unproven("indefinite-length CBOR in the commit")
    if major in (0, 1, 7):
        return pos
    if major in (2, 3):
        return pos + argument
    if major == 6:
        return _item_end(data, pos, depth + 1)
    for _ in range(argument * (2 if major == 5 else 1)):
        pos = _item_end(data, pos, depth + 1)
    return pos
