"""Photo-like scenes: what real phone photos of handwritten numbers have, with ground truth.

The clean and hard tiers (`train.scenes`) put MNIST bitmaps on generated paper. Real photos
differ, and each difference here was seen on real photos the recognizer missed:

- pen strokes: each digit's skeleton is stroked again with a pen of a chosen width, from a
  thin ballpoint (1-2 px on a big digit) to a marker, in black, blue or pencil grey (a
  pencil's stroke speckled where the graphite skips the paper's tooth);
- paper: white, or a yellow note; plain, ruled or grid, the lines running through digits;
- a sheet lying on a dark, grainy desk, in perspective, or paper filling the frame, a
  sliver of desk often showing at its edges (a sheet cropped or framed loosely); a small
  sheet (a sticky note, a slip) written to its edge, cut close past its longest line;
- wide handwriting: digits of one number spaced up to a digit height apart; or cramped,
  neighbours touching (a short digit against a long tail is the hard case);
- uneven sizes: small round 0s beside tall digits, and 7s, 9s and 4s whose long tails hang
  below the line (the stem drawn up to three times as long, the loop or bar the line's
  size), so a short digit stands next to one twice its height;
- exposure: dim and underexposed photos, vignetting, a shadow across the page, noise;
- lone digits on a page, and photos of 2 to 12 megapixels;
- a digit filling a small crop or form cell (`make_cell`), its pen up to a bold marker;
- a page far from the camera or seen by a low-resolution one (`farther`): digits 14-22 px.

Only numpy and OpenCV. `python -m digitedge.train.scenes --score N` reports this tier as "photo".
"""

from __future__ import annotations

import statistics

import cv2
import numpy as np

from digitedge.edge.data import Box
from digitedge.train.augment import TAILED, long_tail
from digitedge.train.scenes import Scene, with_truth

INKS = {"black": (40, 35, 30), "blue": (150, 70, 25), "pencil": (110, 110, 110)}  # BGR of full ink
SIZES = ((1600, 1200), (2048, 1536), (3000, 2250), (4000, 3000))  # 2 to 12 MP
BASE_WIDTH = 1000  # scenes are drawn at this width, then resized to the photo's size
TO_EDGE = 0.3  # share of the sheets on a desk written to their edge (cut close past the longest line)


def skeleton(img: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a digit bitmap (nonzero = ink): its one-pixel-wide centre line."""
    s = np.pad((img > 100).astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = [
                np.roll(np.roll(s, -dy, 0), -dx, 1)
                for dy, dx in ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
            ]  # P2..P9
            neighbours = sum(p)
            ring = p + [p[0]]
            transitions = sum(((a == 0) & (b == 1)) for a, b in zip(ring, ring[1:]))
            if step == 0:
                gate = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                gate = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            drop = (s == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & gate
            if drop.any():
                s[drop] = 0
                changed = True
        if not changed:
            return s[1:-1, 1:-1]


def pen_digit(img: np.ndarray, height: int, pen: float, skip: tuple[float, float] | None = None) -> np.ndarray:
    """A digit re-drawn as pen strokes `pen` px wide at `height` px: 0..1 alpha. `skip`
    (centre as a share of the height, px): a pen that skips leaves a band that tall
    undrawn across the digit, which falls apart into a piece above and one below."""
    ys, xs = np.nonzero(img > 80)
    crop = img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    # thinned at 3x, smoothed first: MNIST's jagged 28 px edges would grow spurs
    crop = cv2.GaussianBlur(cv2.resize(crop, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC), (0, 0), 1.5)
    scale = (height - pen - 2) / max(crop.shape[0], 1)
    w = max(int(crop.shape[1] * scale + pen + 3), int(pen) + 3)
    canvas = np.zeros((height, w), np.uint8)
    sk = skeleton(crop)
    pts = np.argwhere(sk)
    thickness = max(1, round(pen))
    off = pen / 2 + 1
    lo, hi = (skip[0] * height - skip[1] / 2, skip[0] * height + skip[1] / 2) if skip else (0.0, -1.0)
    for y, x in pts:
        if lo <= y * scale + off <= hi:
            continue
        a = (int((x * scale + off) * 16), int((y * scale + off) * 16))
        cv2.circle(canvas, a, 0, 255, thickness, cv2.LINE_AA, 4)
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):  # each neighbour pair once
            inside = 0 <= y + dy < sk.shape[0] and 0 <= x + dx < sk.shape[1]
            if inside and sk[y + dy, x + dx] and not lo <= (y + dy) * scale + off <= hi:
                b = (int(((x + dx) * scale + off) * 16), int(((y + dy) * scale + off) * 16))
                cv2.line(canvas, a, b, 255, thickness, cv2.LINE_AA, 4)
    return canvas.astype(np.float32) / 255


def _paper(
    h: int, w: int, rng: np.random.Generator, rule: str, spacing: float, top: float
) -> tuple[np.ndarray, np.ndarray]:
    """(paper colour, BGR 0..1; line alpha 0..1) for plain, ruled or grid paper."""
    colour = np.array([0.55, 0.85, 0.95], np.float32) if rng.random() < 0.2 else np.float32(rng.uniform(0.88, 1.0, 3))
    paper = np.ones((h, w, 3), np.float32) * colour
    lines = np.zeros((h, w), np.float32)
    strength = float(rng.uniform(0.25, 0.6))
    width = int(rng.integers(1, 3))
    if rule in ("ruled", "grid"):
        for y in np.arange(top % spacing, h, spacing):
            cv2.line(lines, (0, int(y)), (w - 1, int(y + rng.uniform(-2, 2))), strength, width, cv2.LINE_AA)
    if rule == "grid":
        for x in np.arange(rng.uniform(0, spacing), w, spacing):
            cv2.line(lines, (int(x), 0), (int(x), h - 1), strength, width, cv2.LINE_AA)
    return paper, lines


def make_photo(
    digits: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    size: tuple[int, int] | None = None,
    to_edge: float = TO_EDGE,
) -> Scene:
    """One photo-like scene; `size` (W, H) defaults to one of SIZES, 2 to 12 MP. `to_edge`
    of the sheets on a desk are written to their edge; 0 draws the scenes drawn before
    that condition was added, the same to the byte."""
    W, H = size or SIZES[int(rng.integers(len(SIZES)))]
    bw, bh = BASE_WIDTH, round(BASE_WIDTH * H / W)
    lone = rng.random() < 0.15
    n_lines = 1 if lone else int(rng.integers(1, 5))
    height = int(bh * (rng.uniform(0.15, 0.4) if lone else rng.uniform(0.05, 0.65 / n_lines)))
    height = max(24, height)
    rule = str(rng.choice(["plain", "ruled", "grid"], p=[0.5, 0.3, 0.2]))
    spacing = height * rng.uniform(1.2, 1.8)
    band = max(spacing, height * 1.3) if rule == "plain" else spacing * round(max(1.0, height * 1.3 / spacing) + 0.49)
    top = bh * rng.uniform(0.08, 0.3)
    paper, rules = _paper(bh, bw, rng, rule, spacing, top + height * rng.uniform(0.85, 1.05))
    alpha = np.zeros((bh, bw), np.float32)
    owner = np.zeros((bh, bw), np.int32)
    pen = float(
        rng.choice([rng.uniform(1.0, 2.5), rng.uniform(2.5, 5), height * rng.uniform(0.08, 0.14)], p=[0.45, 0.35, 0.2])
    )
    ink = INKS[str(rng.choice(list(INKS), p=[0.5, 0.35, 0.15]))]
    darkness = rng.uniform(0.35, 0.6) if ink == INKS["pencil"] else rng.uniform(0.75, 0.95)
    # wide handwriting, up to a digit height apart; or cramped, neighbours touching
    cramped = rng.random() < 0.15
    gap = (rng.uniform(-0.12, 0.04) if cramped else rng.uniform(0.08, 1.0)) * height
    uneven = rng.random() < 0.3
    truth: list[tuple[int, int]] = []
    for li in range(n_lines):
        y0 = int(top + li * band)
        if y0 + height >= bh * 0.95:
            break
        x = int(bw * rng.uniform(0.08, 0.3))
        count = 1 if lone else int(rng.integers(2, 11))
        for _ in range(count):
            i = int(rng.integers(len(digits)))
            h, hang = _size(int(labels[i]), height, band, uneven, rng, bh)
            # a tail is a longer stem, not a bigger digit: the loop or bar keeps the line's size
            split = rng.uniform(0.45, 0.6)
            stretch = (h / height - split) / (1 - split) if hang else 1.0
            patch = pen_digit(long_tail(digits[i], split, stretch), h, pen)
            ph, pw = patch.shape
            y = int(np.clip(y0 + height + hang - ph + rng.normal(0, height * 0.04), 0, bh - ph))
            if x + pw >= bw * 0.93:
                break
            np.maximum(alpha[y : y + ph, x : x + pw], patch, out=alpha[y : y + ph, x : x + pw])
            truth.append((li, int(labels[i])))
            owner[y : y + ph, x : x + pw][patch > 0.3] = len(truth)
            x += pw + int(gap * rng.uniform(0.7, 1.3))
    if ink == INKS["pencil"]:  # graphite catches on the paper's tooth: a speckled, broken stroke
        alpha *= _tooth(alpha.shape, rng.spawn(1)[0])  # a stream of its own: the other draws stay as they were
    # printed lines: faint blue-grey
    page: np.ndarray = paper * (1 - rules[..., None] * np.array([0.2, 0.5, 0.6], np.float32))
    page = page * (1 - darkness * alpha[..., None]) + darkness * alpha[..., None] * np.array(ink, np.float32) / 255
    image, owner, shot = _camera(page, owner, rng, (W, H), to_edge)
    pen_kind = "thin" if pen < 2.5 else "marker" if pen >= 0.08 * height else "pen"
    ink_kind = next(k for k, v in INKS.items() if v == ink)
    conditions = {
        "lone": lone,
        "paper": rule,
        "pen": pen_kind,
        "ink": ink_kind,
        "gap": round(gap / height, 2),
        "cramped": cramped,
        "sizes": "uneven" if uneven else "even",
        "megapixels": round(W * H / 1e6, 1),
        **shot,
    }
    return with_truth(Scene(image, conditions=conditions), truth, owner)


def _size(label: int, height: int, band: float, uneven: bool, rng: np.random.Generator, page: int) -> tuple[int, int]:
    """A digit's height and how far it hangs below the line: about the line's height; with
    `uneven` sizes anywhere from 0.6 of it up, and a 7, 9 or 4 often with a tail reaching
    down to a whole height below the line (never into the next line, nor past the `page`'s
    height: one line of digits two thirds of the page tall leaves no room for a long tail)."""
    tail = False
    if not uneven:
        h = int(height * rng.uniform(0.85, 1.1))
    elif tail := label in TAILED and rng.random() < 0.5:
        h = int(min(height * rng.uniform(1.3, 2.0), band - 0.15 * height))
    else:
        h = int(height * rng.uniform(0.6, 1.1))
    h = min(h, page)
    return h, max(0, h - height) if tail else 0


def _grain(noise: np.ndarray, sigma: float) -> np.ndarray:
    """White `noise` blurred to grains about `sigma` px across, at unit deviation: the
    texture of a desk, or of a paper's tooth."""
    grain: np.ndarray = cv2.GaussianBlur(noise.astype(np.float32), (0, 0), sigma)
    grain /= max(float(grain.std()), 1e-6)
    return grain


def _tooth(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """How much graphite each pixel of a pencil stroke holds, 0..1: speckle about a pixel
    across, mostly full, down to nearly none in the paper's pits."""
    return np.clip(0.85 + 0.35 * _grain(rng.normal(0, 1, shape), 0.8), 0.1, 1.0)


def _side(rng: np.random.Generator) -> np.random.Generator:
    """A stream seeded from `rng`'s state, which it leaves as it is: a condition added to
    the generator later draws from it, so every scene it spares stays as it was. (Not
    `rng.spawn`, as the pencil's tooth uses: a spawn on every sheet on a desk would give
    later pencil scenes other children, and so other speckle.)"""
    return np.random.default_rng(rng.bit_generator.state["state"]["state"])


def _cut(owner: np.ndarray, rng: np.random.Generator, to_edge: float = TO_EDGE) -> int:
    """Where a sheet ends on the right, in page px: for `to_edge` of the sheets, a few px to
    3% of the page past the rightmost ink (`owner`), as on a sticky note written to its edge;
    else the page's own width."""
    w = owner.shape[1]
    cols = np.flatnonzero((owner > 0).any(axis=0))
    if rng.random() >= to_edge or cols.size == 0:
        return w
    return min(w, int(cols[-1]) + 1 + round(rng.uniform(0.005, 0.03) * w))


def _desk(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A dark desk with a grain, 0..1 BGR."""
    grain = _grain(rng.normal(0, 1, (h, w)), rng.uniform(0.8, 2.5))  # (the noise drawn first)
    level = rng.uniform(0.08, 0.3)
    tone = np.float32(rng.uniform(0.7, 1.0, 3))
    return np.clip((level + 0.04 * grain)[..., None] * tone, 0, 1)


def _camera(
    page: np.ndarray, owner: np.ndarray, rng: np.random.Generator, size: tuple[int, int], to_edge: float
) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """The page photographed: on a desk or filling the frame, in perspective, with exposure,
    vignetting, a shadow and blur, drawn at the page's scale, then enlarged to the photo's
    size with the sensor's noise and JPEG. Returns (BGR, owner, what the shot shows)."""
    W, H = size
    bh, bw = page.shape[:2]  # the frame is drawn at this size too
    corners = np.array([[0, 0], [bw, 0], [bw, bh], [0, bh]], np.float32)
    desk = rng.random() < 0.5
    cut = bw  # where the paper ends on the right, in the page's own pixels
    if desk:  # a sheet on a desk, covering a third to three quarters of the frame
        cover = rng.uniform(0.55, 0.85)
        centre = np.array([bw * rng.uniform(0.4, 0.6), bh * rng.uniform(0.4, 0.6)], np.float32)
        quad: np.ndarray = (
            centre
            + np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * np.array([bw, bh], np.float32) * cover / 2
        )
        quad += rng.uniform(-0.08, 0.08, (4, 2)).astype(np.float32) * np.array([bw, bh], np.float32)
        angle = np.deg2rad(rng.uniform(-12, 12))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
        quad = (quad - centre) @ rot.T + centre
        background = _desk(bh, bw, rng)
        cut = _cut(owner, _side(rng), to_edge)
    else:  # paper fills the frame, seen a little askew; a sliver of desk may show at its edges
        # (as where a sheet was cropped from a photo a little loosely), up to 2% of the frame
        quad = (
            np.array([[-0.04, -0.04], [1.04, -0.04], [1.04, 1.04], [-0.04, 1.04]], np.float32)
            + rng.uniform(-0.04, 0.06, (4, 2)).astype(np.float32) * np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
        ) * np.array([bw, bh], np.float32)
        background = _desk(bh, bw, rng)
    m = cv2.getPerspectiveTransform(corners, quad.astype(np.float32))
    photo = cv2.warpPerspective(page, m, (bw, bh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if background is not None:
        sheet = np.zeros((bh, bw), np.float32)
        sheet[:, :cut] = 1
        inside = cv2.warpPerspective(sheet, m, (bw, bh), flags=cv2.INTER_LINEAR)[..., None]
        photo = photo * inside + background * (1 - inside)
    yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
    r2 = ((xx - bw / 2) / (bw / 2)) ** 2 + ((yy - bh / 2) / (bh / 2)) ** 2
    light = (1 - rng.uniform(0, 0.45) * r2 / 2) * rng.choice(
        [rng.uniform(0.35, 0.6), rng.uniform(0.6, 1.0)], p=[0.35, 0.65]
    )
    shadowed = rng.random() < 0.3
    if shadowed:  # a soft shadow across the page (a hand, a phone)
        shadow = np.zeros((bh, bw), np.float32)
        cv2.line(
            shadow, (int(rng.uniform(0, bw)), 0), (int(rng.uniform(0, bw)), bh), 1.0, int(bw * rng.uniform(0.1, 0.3))
        )
        light = light * (1 - rng.uniform(0.25, 0.5) * cv2.GaussianBlur(shadow, (0, 0), bw * 0.03))
    photo = cv2.GaussianBlur(photo * light[..., None], (0, 0), rng.uniform(0.4, 1.0))
    photo = cv2.resize(photo, (W, H), interpolation=cv2.INTER_CUBIC)
    owner = cv2.warpPerspective(
        owner.astype(np.float32),
        np.array([[W / bw, 0, 0], [0, H / bh, 0], [0, 0, 1]], np.float32) @ m,
        (W, H),
        flags=cv2.INTER_NEAREST,
    ).astype(np.int32)
    sigma = rng.uniform(1.5, 6.0) / max(float(light.mean()), 0.3) ** 0.5  # grey levels; dim photos are noisier
    noise = rng.standard_normal((H, W), dtype=np.float32) * np.float32(sigma)
    image = cv2.add(photo * 255, noise[..., None].repeat(3, axis=2), dtype=cv2.CV_32F)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 95))])
    rim = not desk and bool(((quad > 0) & (quad < [bw, bh])).any())  # a corner inside the frame: desk shows
    shot: dict[str, object] = {
        "desk": desk,
        "edge": cut < bw,
        "rim": rim,
        "shadow": shadowed,
        "light": round(float(light.mean()), 2),
    }
    decoded = cv2.imdecode(enc, cv2.IMREAD_COLOR)
    assert decoded is not None, "OpenCV decodes the JPEG it just encoded"
    return decoded, owner, shot


def make_cell(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> Scene:
    """One digit filling a small crop, as a form cell or a cut-out digit is: 40 to 128 px,
    the digit 55-85% of the crop's height, its pen from a ballpoint to a bold marker (a
    quarter of the digit's height), sometimes with the cell's border in the frame."""
    size = int(rng.integers(40, 129))
    H, W = size, int(size * rng.uniform(0.8, 1.3))
    height = int(H * rng.uniform(0.55, 0.85))
    i = int(rng.integers(len(digits)))
    pen = max(1.0, height * float(rng.choice([rng.uniform(0.04, 0.1), rng.uniform(0.1, 0.25)])))
    patch = pen_digit(digits[i], height, pen)[:, : W - 2]
    ph, pw = patch.shape
    y, x = int(rng.integers(1, H - ph)), int(rng.integers(1, max(2, W - pw)))
    alpha = np.zeros((H, W), np.float32)
    alpha[y : y + ph, x : x + pw] = patch
    owner = np.where(alpha > 0.3, 1, 0).astype(np.int32)
    paper = rng.uniform(150, 250)
    border = rng.random() < 0.3
    if border:  # the cell's printed border, cut through by the crop
        cv2.rectangle(alpha, (0, 0), (W - 1, H - 1), 0.6, max(1, size // 40))
    ink = rng.uniform(0.6, 0.95) * paper
    shade = paper - ink * alpha + rng.normal(0, rng.uniform(1, 6), (H, W))
    gray = cv2.GaussianBlur(np.clip(shade, 0, 255).astype(np.uint8), (0, 0), rng.uniform(0.3, 0.8))
    conditions: dict[str, object] = {"cell": size, "pen": round(pen / height, 2), "border": border}
    scene = Scene(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), conditions=conditions)
    return with_truth(scene, [(0, int(labels[i]))], owner)


def farther(scene: Scene, digit_px: float) -> Scene:
    """The same page from further away, or through a low-resolution camera: the photo shrunk
    until its digits are `digit_px` tall (their median), boxes with it. Unchanged if they
    are that small already."""
    f = digit_px / statistics.median(b.h for b in scene.boxes) if scene.boxes else 1.0
    if f >= 1:
        return scene
    image = cv2.resize(scene.image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    boxes = [Box(round(b.x * f), round(b.y * f), max(1, round(b.w * f)), max(1, round(b.h * f))) for b in scene.boxes]
    return Scene(image, boxes, list(scene.labels), list(scene.lines), {**scene.conditions, "digit_px": round(digit_px)})


def photo_stream(
    digits: np.ndarray, labels: np.ndarray, seed: int, size: tuple[int, int] | None = None, to_edge: float = TO_EDGE
):
    """Endless reproducible photo-like scenes (`make_photo`)."""
    rng = np.random.default_rng(seed)
    while True:
        yield make_photo(digits, labels, rng, size, to_edge)
