"""What an uploaded file really is, read from its first bytes: the browser's type and the file name are claims,
the content is the fact. Only the image formats every network takes are recognized (JPEG, PNG, GIF, WebP);
their width and height are read from the headers, without an imaging library."""

from __future__ import annotations

import struct
from dataclasses import dataclass

JPEG, PNG, GIF, WEBP = "image/jpeg", "image/png", "image/gif", "image/webp"
EXTENSIONS = {JPEG: "jpg", PNG: "png", GIF: "gif", WEBP: "webp"}
# JPEG start-of-frame markers (baseline, progressive, lossless …): they carry the picture's size.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class ImageInfo:
    mime_type: str
    width: int | None = None
    height: int | None = None


def sniff(data: bytes) -> ImageInfo | None:
    """The image type of ``data`` from its magic bytes, with its size when the header gives it; None when
    it is not one of the recognized images (HTML or text named .jpg included)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) >= 24 and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return ImageInfo(PNG, width, height)
        return ImageInfo(PNG)
    if data.startswith(b"\xff\xd8\xff"):
        return ImageInfo(JPEG, *_jpeg_size(data))
    if data[:6] in (b"GIF87a", b"GIF89a"):
        if len(data) >= 10:
            width, height = struct.unpack("<HH", data[6:10])
            return ImageInfo(GIF, width, height)
        return ImageInfo(GIF)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageInfo(WEBP, *_webp_size(data))
    return None


def _jpeg_size(data: bytes) -> tuple[int | None, int | None]:
    """Walk the JPEG segments up to the first start-of-frame, which holds height then width."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None, None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None, None


def _webp_size(data: bytes) -> tuple[int | None, int | None]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None, None
