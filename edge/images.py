"""Image bytes -> pixels -> grayscale: the one place images enter the runtime.

Files, uploads and camera frames all pass through here, so the decompression-bomb guard and
the conversion of every depth and channel count are written once.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from digitedge.edge.headers import Header, UnsizedImage, read_header

# Every format OpenCV's imdecode reads (and edge.headers sizes), by its usual suffixes.
IMAGE_SUFFIXES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".bmp",
    ".dib",
    ".tif",
    ".tiff",
    ".webp",
    ".gif",
    ".avif",
    ".pgm",
    ".ppm",
    ".pbm",
    ".pnm",
    ".pam",
    ".pfm",
    ".ras",
    ".sr",
    ".hdr",
    ".pic",
    ".jp2",
    ".j2k",
}
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding
MAX_FILE_BYTES = 200_000_000  # and files no photo or scan needs


def read_image(path: Path, keep_pixels: int | None = None) -> np.ndarray:
    """Decode an image file of any depth and channel count; ValueError names the problem.
    `keep_pixels`: see `decode_image`."""
    return decode_image(read_bytes(path), keep_pixels)


def read_bytes(path: Path) -> np.ndarray:
    """An image file's bytes. Only regular files are opened: a FIFO or device named like an
    image would block."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise ValueError("not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise ValueError(f"file is {info.st_size} bytes, over the limit of {MAX_FILE_BYTES}")
    return np.fromfile(path, np.uint8)  # fromfile works for any file name, unlike cv2.imread


def decode_image(data: np.ndarray, keep_pixels: int | None = None) -> np.ndarray:
    """Decode encoded image bytes (files and uploads alike), turned upright: `decode`."""
    return decode(data, keep_pixels)[0]


def decode(data: np.ndarray, keep_pixels: int | None = None) -> tuple[np.ndarray, Header]:
    """Encoded image bytes -> (pixels turned upright, the header). The size comes from the
    header first: a format that cannot be sized, or an image over MAX_PIXELS, is never
    decoded. With `keep_pixels`, a big JPEG is decoded at 1/2, 1/4 or 1/8 of its size
    (libjpeg's reduced decoding, several times faster) while it keeps at least that many
    pixels; the header still says its full size."""
    if data.size == 0:
        raise ValueError("empty file")
    try:
        header = read_header(data)
    except UnsizedImage as exc:
        raise ValueError(f"not a decodable image: {exc}") from None  # never decoded
    w, h = header.width, header.height
    if w * h > MAX_PIXELS:
        raise ValueError(f"image is {w}x{h} = {w * h} pixels, over the limit of {MAX_PIXELS}")
    mode = cv2.IMREAD_UNCHANGED
    if keep_pixels and header.jpeg:
        reduce = max((k for k in (1, 2, 4, 8) if (w // k) * (h // k) >= keep_pixels), default=1)
        mode = _REDUCED.get(reduce, mode)
    try:
        image = cv2.imdecode(data, mode)
    except cv2.error as exc:  # e.g. an allocation refused under a memory limit
        raise ValueError(f"the decoder failed ({exc.err})") from None
    if image is None or image.size == 0:
        raise ValueError("not a decodable image")
    return upright(image, header.orientation), header


# Reduced JPEG decoding; the EXIF orientation is applied by `upright`, once, as for every image.
_REDUCED = {
    k: v | cv2.IMREAD_IGNORE_ORIENTATION
    for k, v in ((2, cv2.IMREAD_REDUCED_COLOR_2), (4, cv2.IMREAD_REDUCED_COLOR_4), (8, cv2.IMREAD_REDUCED_COLOR_8))
}

# EXIF orientation -> how to turn the stored pixels upright
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda im: cv2.flip(im, 1),
    3: lambda im: cv2.rotate(im, cv2.ROTATE_180),
    4: lambda im: cv2.flip(im, 0),
    5: cv2.transpose,
    6: lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
    7: lambda im: cv2.flip(cv2.transpose(im), -1),
    8: lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def upright(image: np.ndarray, exif_orientation: int) -> np.ndarray:
    """The image as its camera saw it: EXIF orientation 1..8 applied (IMREAD_UNCHANGED,
    which keeps 16-bit and alpha, ignores it)."""
    turn = _UPRIGHT.get(exif_orientation)
    return turn(image) if turn else image


def to_gray(image: np.ndarray) -> np.ndarray:
    """BGR, BGRA or grayscale of any integer/float depth -> uint8 grayscale."""
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be 2-D or 3-D, got shape={image.shape}")
    if image.dtype == np.uint16:  # depth first, so the colour conversion always sees 8 bits
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.nan_to_num(image.astype(np.float32))
        if image.size and image.max() <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 3:
        channels = image.shape[2]
        if channels not in (1, 3, 4):
            raise ValueError(f"image has {channels} channels, expected 1, 3 or 4")
        if channels == 4:  # transparent means paper (a canvas drawing, a logo): white behind it
            alpha = image[:, :, 3:4].astype(np.float32) / 255
            image = (image[:, :, :3] * alpha + 255 * (1 - alpha) + 0.5).astype(np.uint8)
        image = image[:, :, 0] if channels == 1 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image
