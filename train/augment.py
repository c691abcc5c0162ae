"""What a camera crop looks like, and what a non-digit looks like, made from MNIST.

`augment_digit` distorts a raw MNIST digit the way paper, pens and cameras do (stroke width,
rotation, shear, aspect, blur, noise, or a photo of it cut out by the device's own segmenter)
before it goes through the device's own `prepare`, then shifts it off-centre a little as a
segmenter's crop can be. `negative` draws a mark that is
*not* a digit: letters and symbols from fonts, random strokes, digit fragments, two digits
squeezed into one crop, ink blobs, or a Fashion-MNIST image. Every sample ends as a
prepared 28x28 model input, so the model never sees anything the device would not make.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from digitedge.edge.preprocess import prepare, tight
from digitedge.train.config import LONGEST_TAIL, SHORTEST_TAIL

NOT_A_DIGIT = 10  # class index of the "not a digit" output
# Characters that cannot be read as a digit (no O, l, I...).
NON_DIGIT_CHARS = "ACEFHKMNPRUVWXYacefhkmnrtuvwxy#%&@+=?*$!<>{}[]~"
# Printed letters shaped like digits (S/5, Z/2, G/6, g/9, B/8...): a printed letter's even
# stroke and serifs tell it from a handwritten digit, so these are negatives too.
LOOKALIKE_CHARS = "SsZzGgBbq"
# Held out: scenes draw clutter with FONT_HERSHEY_SIMPLEX, so training never uses it.
TRAIN_FONTS = (
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)
HELD_OUT_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


def _warp(
    ink: np.ndarray, rng: np.random.Generator, rot: float = 15, shear: float = 0.3, aspect: float = 0.25
) -> np.ndarray:
    """Random rotation, shear and aspect change on a padded canvas (nothing is cut off)."""
    pad = np.pad(ink, 10)
    h, w = pad.shape
    a = np.deg2rad(rng.uniform(-rot, rot))
    sx = rng.uniform(1 - aspect, 1 + aspect)
    sh = rng.uniform(-shear, shear)
    m = np.array([[np.cos(a) * sx, -np.sin(a) + sh], [np.sin(a) * sx, np.cos(a)]], np.float32)
    c = np.array([w / 2, h / 2], np.float32)
    affine = np.hstack([m, (c - m @ c)[:, None]])
    return cv2.warpAffine(pad, affine, (w, h), flags=cv2.INTER_LINEAR)


def _stroke(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Thinner or thicker pen: erode or dilate at 2x resolution for half-pixel steps. Markers
    can be bold enough to nearly close the loops of a 6 or 9: up to +2 px of stroke."""
    big = cv2.resize(ink, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    thicker = rng.random() < 0.6
    k = int(rng.integers(2, 6) if thicker else rng.integers(1, 4))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    big = cv2.dilate(big, kernel) if thicker else cv2.erode(big, kernel)
    return cv2.resize(big, ink.shape[::-1], interpolation=cv2.INTER_AREA)


TAILED = (4, 7, 9)  # digits often written with a stem hanging far below the line


def long_tail(ink: np.ndarray, split: float, stretch: float) -> np.ndarray:
    """A digit whose lower part, below `split` (share of its ink's height), is drawn
    `stretch` times longer, on a taller canvas: the long stems of handwritten 4s, 7s and 9s,
    whose loop or bar stays the size of the digits beside them. MNIST's are short, and a
    model that never saw one reads a 9 with a tail twice its loop's height as a 1."""
    rows = np.flatnonzero(ink.max(axis=1) > 0)
    if not rows.size or stretch <= 1:
        return ink
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    cut = y0 + split * (y1 - y0)
    height = int(np.ceil(cut + (ink.shape[0] - cut) * stretch))
    out_y = np.arange(height, dtype=np.float32)
    src_y = np.where(out_y < cut, out_y, cut + (out_y - cut) / stretch)
    map_y = np.repeat(src_y[:, None], ink.shape[1], axis=1).astype(np.float32)
    map_x = np.repeat(np.arange(ink.shape[1], dtype=np.float32)[None], height, axis=0)
    return cv2.remap(ink, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _camera(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blur, faint contrast and sensor noise."""
    out: np.ndarray = ink.astype(np.float32)
    if rng.random() < 0.4:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.2))
    out *= rng.uniform(0.5, 1.0)
    if rng.random() < 0.4:  # noise, but only in the mark's 2 px halo: the segmenter masks the rest
        halo = cv2.dilate((ink > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        out[halo] += rng.normal(0, rng.uniform(2, 12), int(halo.sum()))
    return np.clip(out, 0, 255).astype(np.uint8)


def _off_centre(x: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    dy, dx = rng.integers(-max_shift, max_shift + 1, 2)
    return np.roll(x, (int(dy), int(dx)), axis=(0, 1))


def _prepared(ink: np.ndarray) -> np.ndarray | None:
    try:
        return prepare(ink)
    except ValueError:  # the distortion erased the mark
        return None


def augment_digit(
    img: np.ndarray, rng: np.random.Generator, label: int | None = None, longest_tail: float = LONGEST_TAIL
) -> np.ndarray:
    """A raw MNIST digit -> a camera-like prepared input of the same digit: a pen, a hand
    and a camera (stroke, warp, blur and noise), or a quarter of the time the pen and hand
    photographed on paper and cut out by the device's own segmenter. A 4, 7 or 9 (`label`)
    is given a long tail a third of the time, its stem `SHORTEST_TAIL` to `longest_tail`
    times as long."""
    ink = img
    if label in TAILED and rng.random() < 0.35:
        ink = long_tail(ink, rng.uniform(0.45, 0.6), rng.uniform(SHORTEST_TAIL, longest_tail))
    if rng.random() < 0.5:
        ink = _stroke(ink, rng)
    if rng.random() < 0.8:
        ink = _warp(ink, rng)
    photo = _photo_crop(ink, rng) if rng.random() < 0.25 else None
    out = _prepared(photo if photo is not None else _camera(ink, rng))
    if out is None:
        out = prepare(img)
    return _off_centre(out, rng) if rng.random() < 0.3 else out


# --- one nuisance at a time, for the per-nuisance report ----------------------------------
def _faint_noisy(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = img.astype(np.float32) * rng.uniform(0.4, 0.7)
    halo = cv2.dilate((img > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    out[halo] += rng.normal(0, 10, int(halo.sum()))
    return np.clip(out, 0, 255).astype(np.uint8)


def _photo_crop(img: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """The digit photographed: dark ink on uneven, noisy paper, blurred and JPEG-compressed,
    then found and cut out by the device's own segmenter (largest mark); None if lost."""
    from digitedge.edge.segment import find_marks

    try:
        _, _, crop = tight(img)
    except ValueError:
        return None
    h = int(rng.integers(24, 64))
    w = max(2, round(crop.shape[1] * h / crop.shape[0]))
    ink = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    H, W = 2 * h, max(2 * h, w + h)
    y0, x0 = int(rng.integers(h // 4, H - h - h // 4 + 1)), int(rng.integers(h // 4, W - w - h // 4 + 1))
    page = np.zeros((H, W), np.float32)
    page[y0 : y0 + h, x0 : x0 + w] = ink
    ramp = np.linspace(0, 1, W, dtype=np.float32)[None, :] * rng.uniform(-0.3, 0.3)
    gray = (rng.uniform(0.75, 1.0) + ramp) * (1 - rng.uniform(0.6, 0.95) * page)
    gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.3, 1.0)) + rng.normal(0, rng.uniform(0.005, 0.03), gray.shape)
    photo = np.clip(gray * 255, 0, 255).astype(np.uint8)
    jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 90))])[1]
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)
    marks = find_marks(decoded) if decoded is not None else []
    return max(marks, key=lambda m: m.box.area).ink if marks else None


def segmenter_crop(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`_photo_crop`, prepared (the plain digit if the segmenter lost it)."""
    ink = _photo_crop(img, rng)
    return prepare(ink if ink is not None else img)


NUISANCES = {
    "stroke width": lambda img, rng: _prepared(_stroke(img, rng)),
    "rotation ±15°": lambda img, rng: _prepared(_warp(img, rng, rot=15, shear=0, aspect=0)),
    "shear ±0.3": lambda img, rng: _prepared(_warp(img, rng, rot=0, shear=0.3, aspect=0)),
    "aspect ±25%": lambda img, rng: _prepared(_warp(img, rng, rot=0, shear=0, aspect=0.25)),
    "blur": lambda img, rng: _prepared(cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 1.2))),
    "faint + noise": lambda img, rng: _prepared(_faint_noisy(img, rng)),
    "off-centre ±2 px": lambda img, rng: _off_centre(prepare(img), rng),
    "segmenter crop of a photo": segmenter_crop,
}


NUISANCE_SEED = 11  # added to a run's seed: the images of its per-nuisance figures (fit.evaluate)


def nuisance_batch(images: np.ndarray, seed: int, name: str) -> np.ndarray:
    """Prepared inputs of raw MNIST images under one named nuisance only."""
    rng = np.random.default_rng(seed)
    fn = NUISANCES[name]
    out = [fn(img, rng) for img in images]
    return np.stack([o if o is not None else prepare(img) for o, img in zip(out, images)])[..., None]


# --- negatives --------------------------------------------------------------------------------
def _chars(rng: np.random.Generator) -> str:
    pool = NON_DIGIT_CHARS if rng.random() < 0.75 else LOOKALIKE_CHARS
    return "".join(rng.choice(list(pool), int(rng.choice([1, 1, 1, 2]))))


@functools.cache
def system_fonts(held_out: bool) -> tuple[Path, ...]:
    """TrueType/OpenType fonts installed on this machine, split by family: a fixed quarter of
    the families (by name hash) is held out for measuring false accepts on unseen fonts."""
    found = sorted({p for d in FONT_DIRS for ext in ("*.ttf", "*.otf") for p in Path(d).rglob(ext)})
    return tuple(p for p in found if (zlib.crc32(p.stem.split("-")[0].encode()) % 4 == 0) == held_out)


def _font_text(rng: np.random.Generator, fonts: tuple[Path, ...]) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont  # Pillow comes with matplotlib (train extra)

    font = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), int(rng.integers(24, 64)))
    chars = _chars(rng)
    left, top, right, bottom = font.getbbox(chars)
    canvas = Image.new("L", (int(right - left) + 8, int(bottom - top) + 8))
    ImageDraw.Draw(canvas).text((4 - left, 4 - top), chars, fill=255, font=font)
    return _warp(np.asarray(canvas), rng, rot=12, shear=0.3)


def _text(rng: np.random.Generator, fonts: tuple[int, ...]) -> np.ndarray:
    chars = _chars(rng)
    font = int(rng.choice(fonts))
    scale, thick = rng.uniform(0.8, 2.0), int(rng.integers(1, 4))
    (tw, th), base = cv2.getTextSize(chars, font, scale, thick)
    canvas = np.zeros((th + base + 8, tw + 8), np.uint8)
    cv2.putText(canvas, chars, (4, th + 4), font, scale, 255, thick, cv2.LINE_AA)
    return _warp(canvas, rng, rot=12, shear=0.3)


def _strokes(rng: np.random.Generator) -> np.ndarray:
    canvas = np.zeros((40, 40), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        pts = rng.integers(2, 38, (int(rng.integers(3, 6)), 2)).astype(np.int32)
        cv2.polylines(canvas, [pts], False, 255, int(rng.integers(1, 4)), cv2.LINE_AA)
    return canvas


def _blob(rng: np.random.Generator) -> np.ndarray:
    canvas = np.zeros((40, 40), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        c = tuple(int(v) for v in rng.integers(8, 32, 2))
        axes = tuple(int(v) for v in rng.integers(2, 12, 2))
        cv2.ellipse(canvas, c, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    return cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 2))


def _fragment(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The top or bottom quarter to third of a digit: what a broken stroke leaves."""
    img = digits[rng.integers(len(digits))]
    ys = np.flatnonzero(img.any(axis=1))
    y0, y1 = ys[0], ys[-1] + 1
    cut = max(1, int((y1 - y0) * rng.uniform(0.25, 0.4)))
    return img[y0 : y0 + cut] if rng.random() < 0.5 else img[y1 - cut : y1]


def _pair(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two digits touching side by side: must be split, not read as one."""
    a, b = digits[rng.integers(len(digits), size=2)]
    overlap = int(rng.integers(4, 12))
    canvas = np.zeros((28, 56 - overlap), np.uint8)
    canvas[:, :28] = a
    np.maximum(canvas[:, 28 - overlap :], b, out=canvas[:, 28 - overlap :])
    return canvas


def _glyph_piece(glyph: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A piece of a printed character as the recognizer's own cut search makes it (a G cut
    into something like 1 and 3, a % into 9 and 6), so cutting a letter does not yield sure
    digits. Characters too narrow to be tried as touching digits stay whole."""
    from digitedge.edge.config import RecognizerConfig
    from digitedge.edge.data import Box
    from digitedge.edge.recognize import readings
    from digitedge.edge.segment import Mark

    try:
        _, _, crop = tight(glyph)
    except ValueError:
        return glyph
    pieces = readings([Mark(Box(0, 0, crop.shape[1], crop.shape[0]), crop)], RecognizerConfig())[0].pieces[1:]
    return pieces[int(rng.integers(len(pieces)))].ink if pieces else crop


def negative(
    rng: np.random.Generator, digits: np.ndarray, fashion: np.ndarray | None, held_out: bool = False
) -> np.ndarray:
    """One prepared 'not a digit' input. `held_out` uses fonts training never sees, and
    leaves out cut pieces of characters (a training aid, not a kind of mark to measure)."""
    fonts = system_fonts(held_out)
    font_text = (
        (lambda: _font_text(rng, fonts)) if fonts else (lambda: _text(rng, HELD_OUT_FONTS if held_out else TRAIN_FONTS))
    )
    kinds: list[Callable[[], np.ndarray]] = [
        lambda: _text(rng, HELD_OUT_FONTS if held_out else TRAIN_FONTS),
        font_text,
        lambda: _strokes(rng),
        lambda: _blob(rng),
        lambda: _fragment(digits, rng),
        lambda: _pair(digits, rng),
    ]
    if not held_out:
        kinds.append(lambda: _glyph_piece(font_text() if rng.random() < 0.5 else _text(rng, TRAIN_FONTS), rng))
    if fashion is not None and len(fashion):
        kinds += [lambda: fashion[rng.integers(len(fashion))]] * 2
    for _ in range(20):
        ink = kinds[int(rng.integers(len(kinds)))]()
        ys, xs = np.nonzero(ink)
        if ys.size == 0 or np.ptp(ys) + 1 > 2.5 * (np.ptp(xs) + 1):
            continue  # tall and thin reads as a 1: never teach that a 1 is not a digit
        out = _prepared(_camera(ink, rng))
        if out is not None:
            return out
    return prepare(_blob(rng))


def negatives(n: int, seed: int, digits: np.ndarray, fashion: np.ndarray | None, held_out: bool = False) -> np.ndarray:
    """n prepared negatives as (n, 28, 28, 1) uint8, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    return np.stack([negative(rng, digits, fashion, held_out) for _ in range(n)])[..., None]


def augment_batch(
    images: np.ndarray, seed: int, labels: np.ndarray | None = None, longest_tail: float = LONGEST_TAIL
) -> np.ndarray:
    """Camera-like versions of raw MNIST images, as (N, 28, 28, 1) prepared inputs; with
    their `labels`, the digits that take long tails get them too (up to `longest_tail`)."""
    rng = np.random.default_rng(seed)
    tags = [None] * len(images) if labels is None else [int(v) for v in labels]
    return np.stack([augment_digit(img, rng, tag, longest_tail) for img, tag in zip(images, tags)])[..., None]


def load_fashion(path: str | Path | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Fashion-MNIST (train, test) images from an IDX folder such as Debian's
    /usr/share/datasets/fashion-mnist, or None when no path is given."""
    if not path:
        return None
    from digitedge.train.data import load_mnist  # same IDX format and checks

    f = load_mnist(path)
    return f.x_train, f.x_test
