"""Small real images built in memory for the media tests: a PNG drawn with zlib, a JPEG's header segments."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 2, height: int = 1, *, size: int = 0) -> bytes:
    """A valid RGB PNG of width by height, padded after its end to ``size`` bytes when asked (a big file)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return data + b"\x00" * max(0, size - len(data))


def jpeg(width: int = 640, height: int = 480, *, size: int = 0) -> bytes:
    """A JPEG's opening segments (SOI, APP0/JFIF, SOF0 with the size), padded to ``size`` bytes."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    data = b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"
    return data + b"\x00" * max(0, size - len(data))


TINY_PNG = png()
