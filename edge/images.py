"""Image bytes -> pixels -> grayscale: the one place images enter the runtime.

Files, uploads and camera frames all pass through here, so the decompression-bomb guard and
the conversion of every depth and channel count are written once.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding


def read_image(path: Path) -> np.ndarray:
    """Decode an image file of any depth and channel count; ValueError names the problem."""
    return decode_image(np.fromfile(path, np.uint8))  # fromfile works for any file name, unlike cv2.imread


def decode_image(data: np.ndarray) -> np.ndarray:
    """Decode encoded image bytes (files and uploads alike), refusing decompression bombs."""
    if data.size == 0:
        raise ValueError("empty file")
    _check_pixels(data)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None or image.size == 0:
        raise ValueError("not a decodable image")
    return image


def _check_pixels(data: np.ndarray) -> None:
    """Refuse huge images from the header alone (PNG/JPEG), without allocating them."""
    head = data[:65536].tobytes()
    w = h = 0
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    elif head.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(head):
            if head[i] != 0xFF:
                break
            marker, size = head[i + 1], int.from_bytes(head[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = int.from_bytes(head[i + 5 : i + 7], "big"), int.from_bytes(head[i + 7 : i + 9], "big")
                break
            i += 2 + size
    if w * h > MAX_PIXELS:
        raise ValueError(f"image is {w}x{h} = {w * h} pixels, over the limit of {MAX_PIXELS}")


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
