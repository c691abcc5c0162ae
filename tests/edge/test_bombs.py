"""Decompression bombs in every format the decoder accepts: refused from the header alone.

Each file here is a few bytes to 64 KB but claims hundreds of megapixels. Decoded, one
would take gigabytes (a Pi is OOM-killed); read through `classify`, the whole folder must
stay under 300 MB of peak memory and every file must get an "over the limit" row.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest

from digitedge.edge.headers import UnsizedImage, read_header
from tests.edge.test_faults import _png_bomb

pytestmark = pytest.mark.faults

SIDE = 20000
SMALL = np.full((8, 8, 3), 255, np.uint8)


def _encode(ext: str, image: np.ndarray = SMALL) -> bytearray:
    return bytearray(cv2.imencode(ext, image)[1].tobytes())


def _jpeg_bomb() -> bytes:
    """The frame header claims SIDE x SIDE and sits after 64 KB of comment segments."""
    j = _encode(".jpg")
    sof = j.index(b"\xff\xc0")
    j[sof + 5 : sof + 9] = struct.pack(">HH", SIDE, SIDE)
    comment = b"\xff\xfe" + struct.pack(">H", 65000) + b"\0" * 64998
    return bytes(j[:2] + comment + j[2:])


def _webp_bomb() -> bytes:
    w = _encode(".webp", SMALL)  # lossless for a tiny flat image: VP8L
    assert w[12:16] == b"VP8L"
    bits = struct.unpack("<I", w[21:25])[0] & ~((1 << 28) - 1)
    w[21:25] = struct.pack("<I", bits | (16382 << 14) | 16382)
    return bytes(w)


def _gif_bomb() -> bytes:
    screen = b"GIF89a" + struct.pack("<HHBBB", SIDE, SIDE, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, SIDE, SIDE, 0) + b"\x02\x02\x4c\x01\x00"
    return screen + frame + b"\x3b"


def _tiff_bomb(side: int = 30000) -> bytes:
    """An uncompressed 8-bit grayscale TIFF claiming side x side, with one tiny strip."""
    tags = [
        (256, 4, side),
        (257, 4, side),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 8 + 2 + 12 * 9 + 4),
        (277, 3, 1),
        (278, 4, side),
        (279, 4, 16),
    ]
    ifd = (
        struct.pack("<H", len(tags))
        + b"".join(
            struct.pack("<HHI", tag, kind, 1)
            + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
            for tag, kind, value in tags
        )
        + b"\0\0\0\0"
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\0" * 16


def _patched(ext: str, find: bytes, offset: int, fmt: str, *values: int) -> bytes:
    data = _encode(ext, np.full((64, 64, 3), 255, np.uint8))  # JPEG 2000 will not encode 8x8
    at = data.index(find) + offset
    data[at : at + struct.calcsize(fmt)] = struct.pack(fmt, *values)
    return bytes(data)


def _bombs(folder) -> dict[str, int]:
    """Write one bomb per format; returns name -> claimed pixels."""
    files = {
        "padded.jpg": (_jpeg_bomb(), SIDE * SIDE),
        "bomb.webp": (_webp_bomb(), 16383 * 16383),
        "bomb.gif": (_gif_bomb(), SIDE * SIDE),
        "bomb.tif": (_tiff_bomb(), 30000 * 30000),
        "bomb.bmp": (_patched(".bmp", b"BM", 18, "<ii", SIDE, SIDE), SIDE * SIDE),
        "bomb.pgm": (b"P5\n%d %d\n255\n" % (SIDE, SIDE) + b"\0" * 64, SIDE * SIDE),
        "bomb.ppm": (b"P6\n# a comment\n%d %d\n255\n" % (SIDE, SIDE) + b"\0" * 64, SIDE * SIDE),
        "bomb.pam": (
            b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n" % (SIDE, SIDE),
            SIDE * SIDE,
        ),
        "bomb.hdr": (
            bytes(_encode(".hdr", SMALL.astype(np.float32))).replace(b"-Y 8 +X 8", b"-Y 20000 +X 20000"),
            SIDE * SIDE,
        ),
        "bomb.ras": (_patched(".sr", b"\x59\xa6\x6a\x95", 4, ">II", SIDE, SIDE), SIDE * SIDE),
        "bomb.jp2": (_patched(".jp2", b"ihdr", 4, ">II", SIDE, SIDE), SIDE * SIDE),
        "bomb.avif": (_patched(".avif", b"ispe", 8, ">II", SIDE, SIDE), SIDE * SIDE),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    _png_bomb(folder / "bomb.png")
    return {name: pixels for name, (_, pixels) in files.items()} | {"bomb.png": SIDE * SIDE}


def test_every_format_is_sized_from_its_header(tmp_path):
    claimed = _bombs(tmp_path)
    for name, pixels in claimed.items():
        header = read_header((tmp_path / name).read_bytes())
        assert header.width * header.height == pixels, name


def test_a_format_that_cannot_be_sized_is_never_decoded():
    with pytest.raises(UnsizedImage):
        read_header(b"\x76\x2f\x31\x01" + b"\0" * 100)  # OpenEXR's magic: not sized, so not decoded
    with pytest.raises(UnsizedImage, match="JPEG header"):
        read_header(b"\xff\xd8\xff\xe0\x00\x10JFIF")  # cut before any frame header


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_bombs_in_every_format_are_refused_in_little_memory(tmp_path):
    names = _bombs(tmp_path)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent (pytest,
    # large after training a model), while VmHWM belongs to this process's own memory.
    code = (
        "import sys; from digitedge.edge.cli import main; rc = main(['classify', sys.argv[1]]);"
        "hwm = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'));"
        "print('maxrss', hwm, file=sys.stderr); sys.exit(rc)"
    )
    res = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=300)
    rows = {json.loads(line)["path"].rsplit("/", 1)[-1]: json.loads(line) for line in res.stdout.splitlines()}
    assert set(rows) == set(names)
    for name, row in rows.items():
        assert "over the limit" in (row["error"] or ""), (name, row["error"])
    peak_mb = int(res.stderr.split("maxrss")[-1].split()[0]) / 1024
    print(f"peak RSS over {len(rows)} bombs: {peak_mb:.0f} MB")
    assert res.returncode == 1 and peak_mb < 300


def test_a_big_page_of_speckle_is_bounded_work(tmp_path):
    """A 7000x7000 PNG of speckle is allowed (under the pixel limit), but it took 5 s and
    1.1 GB, read at full size, holding the server's one inference lock. It is read at the
    working size, and when nothing is read there, again on at most 13 MP."""
    import time

    from digitedge.edge.recognize import Recognizer

    rng = np.random.default_rng(0)
    speck = np.full((7000, 7000), 255, np.uint8)
    at = rng.integers(0, 7000, (2, 300_000))
    speck[at[0], at[1]] = 0
    recognizer = Recognizer()
    read_gray = recognizer._read_gray
    sizes = []  # the sizes actually segmented: the bound is on work, not on this machine's speed

    def spy(gray, rotate):
        sizes.append(gray.size)
        return read_gray(gray, rotate)

    recognizer._read_gray = spy  # type: ignore[method-assign]
    started = time.perf_counter()
    result = recognizer.recognize(speck)
    print(f"7000x7000 speckle read in {time.perf_counter() - started:.2f} s, at sizes {sizes}")
    cfg = recognizer.config
    assert result.digits == ()
    assert len(sizes) == 2 and sizes[0] <= 1.01 * cfg.work_pixels and sizes[1] <= 1.01 * cfg.fine_pixels, sizes
