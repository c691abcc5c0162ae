"""Image dimensions from the file header, before anything is decoded.

A 10 KB WebP can claim 16383x16383 pixels and a 300 KB GIF 20000x20000: decoding them first
and asking later costs gigabytes. `read_header` reads the size of every format OpenCV's
`imdecode` accepts from the bytes alone and refuses a format it cannot size, so nothing is
decoded whose size is unknown. A JPEG's EXIF orientation is read on the same walk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class UnsizedImage(ValueError):
    """The bytes are no image format whose size can be read before decoding."""


@dataclass(frozen=True)
class Header:
    """What an image's header says, read before anything is decoded: its stored size, and
    for a JPEG, the EXIF orientation its camera recorded (phones store the sensor's pixels
    and say in this tag how to turn them upright; 1 is as stored)."""

    width: int
    height: int
    orientation: int = 1
    jpeg: bool = False

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) once turned as the orientation says."""
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


def read_header(data: bytes | np.ndarray) -> Header:
    """The header of image bytes; the largest size, where a format holds several (a GIF's
    screen and its first frame, an AVIF's images). UnsizedImage otherwise."""
    if isinstance(data, np.ndarray):  # every header but a JPEG's lies in the first megabyte
        data = data.tobytes() if data[:2].tobytes() == b"\xff\xd8" else data[: 1 << 20].tobytes()
    b = data
    reader = next((r for magic, r in _READERS if b.startswith(magic)), _avif if b[4:8] == b"ftyp" else None)
    if reader is None:
        raise UnsizedImage("no image format whose size can be read before decoding")
    try:
        width, height, *orientation = reader(b)
        return Header(width, height, orientation[0] if orientation else 1, jpeg=reader is _jpeg)
    except UnsizedImage:
        raise
    except (IndexError, ValueError) as exc:
        raise UnsizedImage(f"{reader.__name__[1:].upper()} header is cut short or damaged ({exc})") from None


def _u(b: bytes, at: int, n: int, order: str = "big") -> int:
    if at + n > len(b):
        raise IndexError(f"needs {at + n} bytes, has {len(b)}")
    return int.from_bytes(b[at : at + n], order)  # type: ignore[arg-type]


def _png(b: bytes) -> tuple[int, int]:
    if b[12:16] != b"IHDR":
        raise ValueError("no IHDR chunk first")
    return _u(b, 16, 4), _u(b, 20, 4)


def _jpeg(b: bytes) -> tuple[int, int, int]:
    """Walk the markers, however far (64 KB of padding is no hiding place), to the frame
    header: (width, height, EXIF orientation of an APP1 block on the way, else 1)."""
    i, turn = 2, 1
    while True:
        while _u(b, i, 1) == 0xFF and _u(b, i + 1, 1) == 0xFF:  # fill bytes
            i += 1
        if _u(b, i, 1) != 0xFF:
            raise ValueError(f"no marker at byte {i}")
        marker = _u(b, i + 1, 1)
        if marker in SOF_MARKERS:
            return _u(b, i + 7, 2), _u(b, i + 5, 2), turn
        if marker in (0xD9, 0xDA):  # end of image, or scan data, before any frame header
            raise ValueError("no frame header before the scan")
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:  # markers without a length
            i += 2
            continue
        length = _u(b, i + 2, 2)
        if marker == 0xE1 and b[i + 4 : i + 10] == b"Exif\0\0":
            turn = _exif_orientation(b[i + 10 : i + 2 + length])
        i += 2 + length


def _exif_orientation(tiff: bytes) -> int:
    """The orientation tag (0x0112) of an EXIF block, 1 if absent or damaged: a damaged
    EXIF block leaves the pixels as stored, it does not refuse the image."""
    try:
        value = _ifd_tags(tiff, (0x0112,)).get(0x0112, 1)
    except (IndexError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _bmp(b: bytes) -> tuple[int, int]:
    if _u(b, 14, 4, "little") == 12:  # OS/2 core header: 16-bit sizes
        return _u(b, 18, 2, "little"), _u(b, 20, 2, "little")
    w = int.from_bytes(b[18:22], "little", signed=True)
    h = int.from_bytes(b[22:26], "little", signed=True)  # negative: stored top-down
    return abs(w), abs(h)


def _webp(b: bytes) -> tuple[int, int]:
    if b[8:12] != b"WEBP":
        raise ValueError("RIFF file that is not WebP")
    chunk = b[12:16]
    if chunk == b"VP8X":
        return 1 + _u(b, 24, 3, "little"), 1 + _u(b, 27, 3, "little")
    if chunk == b"VP8L":
        bits = _u(b, 21, 4, "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        return _u(b, 26, 2, "little") & 0x3FFF, _u(b, 28, 2, "little") & 0x3FFF
    raise ValueError(f"unknown WebP chunk {chunk!r}")


def _gif(b: bytes) -> tuple[int, int]:
    w, h = _u(b, 6, 2, "little"), _u(b, 8, 2, "little")
    flags, i = _u(b, 10, 1), 13
    if flags & 0x80:
        i += 3 << ((flags & 7) + 1)  # global colour table
    while (block := _u(b, i, 1)) == 0x21:  # extensions, up to the first frame
        i += 2
        while size := _u(b, i, 1):
            i += 1 + size
        i += 1
    if block != 0x2C:
        raise ValueError("no image descriptor")
    left, top = _u(b, i + 1, 2, "little"), _u(b, i + 3, 2, "little")
    fw, fh = _u(b, i + 5, 2, "little"), _u(b, i + 7, 2, "little")
    return max(w, left + fw), max(h, top + fh)


def _tiff(b: bytes) -> tuple[int, int]:
    """The first image file directory: the page OpenCV decodes. BigTIFF too."""
    size = _ifd_tags(b, (256, 257))  # ImageWidth, ImageLength
    if len(size) < 2:
        raise ValueError("no width or height tag")
    return size[256], size[257]


def _ifd_tags(b: bytes, wanted: tuple[int, ...]) -> dict[int, int]:
    """Integer tags of the first image file directory of TIFF bytes (a TIFF file, or the
    EXIF block of a JPEG): SHORT, LONG or LONG8 values. BigTIFF too."""
    order = "little" if b[:2] == b"II" else "big"
    big = _u(b, 2, 2, order) == 43
    offset_size, count_size, entry_size = (8, 8, 20) if big else (4, 2, 12)
    ifd = _u(b, 8 if big else 4, offset_size, order)
    found: dict[int, int] = {}
    for k in range(min(_u(b, ifd, count_size, order), 4096)):
        at = ifd + count_size + k * entry_size
        tag, kind = _u(b, at, 2, order), _u(b, at + 2, 2, order)
        if tag in wanted:
            width = {3: 2, 4: 4, 16: 8}.get(kind)
            if width is None:
                raise ValueError(f"tag {tag} has type {kind}")
            found[tag] = _u(b, at + 4 + offset_size, width, order)
    return found


def _pnm(b: bytes) -> tuple[int, int]:
    """PBM, PGM, PPM, PAM and PFM: sizes are text in the header."""
    head = re.sub(rb"#[^\n]*", b" ", b[:4096])
    if head.startswith(b"P7"):
        w, h = re.search(rb"\sWIDTH\s+(\d+)", head), re.search(rb"\sHEIGHT\s+(\d+)", head)
        if not (w and h):
            raise ValueError("PAM without WIDTH and HEIGHT")
        return int(w[1]), int(h[1])
    tokens = head[2:].split()
    return int(tokens[0]), int(tokens[1])


def _sun(b: bytes) -> tuple[int, int]:
    return _u(b, 4, 4), _u(b, 8, 4)


def _hdr(b: bytes) -> tuple[int, int]:
    """Radiance: header lines, a blank line, then e.g. `-Y 480 +X 640`."""
    end = b.find(b"\n\n", 0, 65536)
    if end < 0:
        raise ValueError("no end of header")
    tokens = b[end + 2 : end + 66].split(b"\n")[0].split()
    size = {t[1:2]: int(n) for t, n in zip(tokens[::2], tokens[1::2])}
    return size[b"X"], size[b"Y"]


def _jp2(b: bytes) -> tuple[int, int]:
    """JPEG 2000 in its box format: the image header box; or a bare codestream's SIZ."""
    if b.startswith(b"\xff\x4f\xff\x51"):
        return _u(b, 8, 4) - _u(b, 16, 4), _u(b, 12, 4) - _u(b, 20, 4)
    at = b.find(b"ihdr", 0, 65536)
    if at < 0:
        raise ValueError("no ihdr box")
    return _u(b, at + 8, 4), _u(b, at + 4, 4)


def _avif(b: bytes) -> tuple[int, int]:
    """AVIF (and HEIF) hold each image's size in an `ispe` property; the largest counts."""
    sizes = [(_u(b, m.start() + 8, 4), _u(b, m.start() + 12, 4)) for m in re.finditer(rb"ispe", b[: 1 << 20])]
    if not sizes:
        raise UnsizedImage("ISO media file without image sizes (ispe)")
    return max(w for w, _ in sizes), max(h for _, h in sizes)


_READERS: list[tuple[bytes, Callable[[bytes], tuple[int, ...]]]] = [
    (b"\x89PNG\r\n\x1a\n", _png),
    (b"\xff\xd8", _jpeg),
    (b"BM", _bmp),
    (b"RIFF", _webp),
    (b"GIF87a", _gif),
    (b"GIF89a", _gif),
    (b"II*\x00", _tiff),
    (b"MM\x00*", _tiff),
    (b"II+\x00", _tiff),
    (b"MM\x00+", _tiff),
    *((b"P" + k, _pnm) for k in (b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"F", b"f")),
    (b"\x59\xa6\x6a\x95", _sun),
    (b"#?", _hdr),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", _jp2),
    (b"\xff\x4f\xff\x51", _jp2),
]
