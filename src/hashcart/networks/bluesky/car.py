"""The blocks of a firehose commit: a CAR file read into raw, hash-checked blocks.

libipld's `decode_car` hands back decoded blocks only, and decoding loses what a signature
check needs: the exact bytes (and the difference between a CID link and a byte string).
So the CAR (v1: a varint-framed DAG-CBOR header, then varint-framed CID + block sections)
is split here, and a block is decoded only when asked for, after its bytes were checked
against the SHA-256 its CID names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import libipld

from hashcart.errors import HashcartError

_SHA2_256 = 0x12
_DAG_CBOR = 0x71


class CarError(HashcartError, ValueError):
    """The CAR, a block or a CID in it is malformed, missing or does not match its hash."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 varint at `pos`: (value, position after it)."""
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise CarError("truncated or oversized varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


@dataclass(frozen=True)
class Cid:
    """A CIDv1's parts (the only version the repository format uses)."""

    codec: int
    hash_code: int
    digest: bytes

    @classmethod
    def parse(cls, data: bytes, pos: int = 0) -> tuple[Cid, int]:
        """The CID at `pos` in `data` and the position after it."""
        version, pos = read_varint(data, pos)
        if version != 1:
            raise CarError(f"CID version {version} is not supported")
        codec, pos = read_varint(data, pos)
        hash_code, pos = read_varint(data, pos)
        size, pos = read_varint(data, pos)
        if pos + size > len(data):
            raise CarError("truncated CID")
        return cls(codec, hash_code, data[pos : pos + size]), pos + size

    @classmethod
    def of(cls, raw: bytes) -> Cid:
        cid, end = cls.parse(raw)
        if end != len(raw):
            raise CarError("trailing bytes after a CID")
        return cid

    def matches(self, block: bytes) -> bool:
        return self.hash_code == _SHA2_256 and hashlib.sha256(block).digest() == self.digest


class Blocks:
    """A commit's blocks by CID bytes (as libipld hands CIDs out: raw bytes)."""

    def __init__(self, roots: list[bytes], raw: dict[bytes, bytes]) -> None:
        self.roots = roots
        self._raw = raw

    @classmethod
    def read(cls, car: bytes) -> Blocks:
        size, pos = read_varint(car, 0)
        if pos + size > len(car):
            raise CarError("truncated CAR header")
        try:
            header = libipld.decode_dag_cbor(car[pos : pos + size])
        except ValueError as error:
            raise CarError(f"CAR header: {error}") from None
        roots = header.get("roots") if isinstance(header, dict) else None
        if not isinstance(roots, list) or not all(isinstance(root, bytes) for root in roots):
            raise CarError("CAR header has no roots")
        pos += size
        raw: dict[bytes, bytes] = {}
        while pos < len(car):
            size, pos = read_varint(car, pos)
            end = pos + size
            if end > len(car):
                raise CarError("truncated CAR section")
            _, block_start = Cid.parse(car, pos)
            if block_start > end:
                raise CarError("CAR section shorter than its CID")
            raw[car[pos:block_start]] = car[block_start:end]
            pos = end
        return cls(roots, raw)

    def __contains__(self, cid: bytes) -> bool:
        return cid in self._raw

    def raw(self, cid: bytes) -> bytes:
        """The block's bytes, checked against its CID's hash."""
        block = self._raw.get(cid)
        if block is None:
            raise CarError("block missing from the commit")
        if not Cid.of(cid).matches(block):
            raise CarError("block does not match its CID")
        return block

    def decoded(self, cid: bytes) -> Any:
        """The block decoded (DAG-CBOR), hash-checked first."""
        parsed = Cid.of(cid)
        if parsed.codec != _DAG_CBOR:
            raise CarError(f"block codec {parsed.codec:#x} is not DAG-CBOR")
        try:
            return libipld.decode_dag_cbor(self.raw(cid))
        except (ValueError, RecursionError) as error:
            raise CarError(f"block: {error}") from None
