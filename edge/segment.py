"""Find digit-sized marks in a frame and cut out their ink.

1. Ink map: the local background is estimated with a morphological closing on a downscaled
   copy (wider than any pen stroke), and ink = background - pixel. This removes uneven
   lighting and shadows that a global threshold cannot. On a sheet lying on a desk
   (`edge.page`), the desk takes the paper's level and the thresholds come from the sheet.
   A band of shadow narrower than that square is taken for ink: when one mark, mostly
   faint, towers over the others (or, with few marks, over the dark pieces inside it) and
   holds digits, the background is estimated again with a square on the digits' own scale,
   never narrower than three strokes. A sheet's mask stops at the frame's edge. On a dim
   page the contrast ink must reach is scaled to the paper's grey (ink takes a share of
   the light), the noise smoothed first if it would set the levels.
2. Hysteresis threshold: marks are connected regions above the noise floor that hold at
   least one pixel of clear ink (Otsu on the ink map, never below `min_contrast`). Long
   straight thin lines (ruled and grid paper) are erased where no stroke crosses them; in
   very wide regions only ink above the midpoint of the two levels connects.
3. Pieces of one digit (a broken 5, a detached stroke) are merged, and pieces stacked too
   tall to be surely one digit (a digit a pen broke across, or two of lines written close)
   are paired for the recognizer to read both ways; specks, traces along the
   frame's edge and shapes of impossible proportions are dropped. (`edge.cuts` offers ways
   to cut a wide mark, touching digits, for the recognizer to choose from.)

The ink of each mark is returned white-on-black, masked to the mark's own pixels, ready for
`edge.preprocess.prepare`. On a clean white page this is exactly 255 - pixel.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal, NamedTuple

import cv2
import numpy as np

from digitedge.edge.config import Polarity, SegmentConfig
from digitedge.edge.data import Box
from digitedge.edge.images import to_gray
from digitedge.edge.page import find_page
from digitedge.edge.preprocess import above_otsu, stroke_width, tight

__all__ = ["FIND", "Mark", "Polarity", "SegmentConfig", "find_marks", "ink_map", "sheet"]
MANY_CONTOURS = 5000  # more than this: component boxes from OpenCV's statistics (same boxes, faster)


@dataclass(frozen=True)
class Mark:
    """A candidate digit: its box and its ink, white on black, cropped to the box. `core` is
    the same mark without the small pieces that were attached to it (a broken-off stroke,
    a neighbouring letter, a short digit beside a tall one, or the lower or upper half of a
    stacked pair), and `rest` those pieces alone: the recognizer reads the mark, its core,
    and core and rest as two digits (beside, or a stacked pair), and keeps the surest."""

    box: Box
    ink: np.ndarray
    core: Mark | None = None
    rest: Mark | None = None


def _polarity(gray: np.ndarray, cfg: SegmentConfig) -> Literal["dark", "light"]:
    """Dark ink on paper, or light strokes on a dark board, by a majority of three tests that
    fail in different photos: is the frame bright (not in a dim photo of white paper); does
    its darker tail reach further from the median than its lighter one (not with a deep
    shadow); do strokes stand darker than the mean around them (not with strokes bolder than
    that window). The third, dearest, is asked only when the first two disagree. Tails are
    measured at `polarity_tail` of the pixels: a lone thin digit covers a few tenths of a
    percent of a frame, and a tail measured further in is the paper's noise, either way."""
    low, mid, high = _quantiles(_histogram(gray[::4, ::4]), (cfg.polarity_tail, 0.5, 1 - cfg.polarity_tail))
    bright, dark_tail = mid >= cfg.bright_median, mid - low >= high - mid
    if bright == dark_tail:
        return "dark" if bright else "light"
    h, w = gray.shape
    f = min(1.0, cfg.polarity_px / max(h, w))
    small = (
        cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA) if f < 1 else gray
    )
    k = max(3, min(small.shape) // cfg.polarity_window) | 1
    residual = cv2.subtract(small, cv2.blur(small, (k, k)), dtype=cv2.CV_16S) + 255  # 0..510
    darker, lighter = _quantiles(
        np.bincount(residual.ravel(), minlength=511), (cfg.polarity_tail, 1 - cfg.polarity_tail)
    )
    return "dark" if 255 - darker >= lighter - 255 else "light"


def ink_map(
    gray: np.ndarray, cfg: SegmentConfig, polarity: Polarity | None = None, kernel: int | None = None
) -> np.ndarray:
    """Background-subtracted ink, white on black, uint8, same size as `gray`; `polarity`
    overrides the config's, `kernel` (px) the width of the square the background is
    estimated with (by default 1/`background_kernel` of the frame's shorter side)."""
    polarity = polarity or cfg.polarity
    if polarity == "auto":
        polarity = _polarity(gray, cfg)
    if polarity == "light":
        gray = 255 - gray
    h, w = gray.shape
    step = max(1, min(h, w) // cfg.background_px)  # background is smooth: estimate it on a small copy
    small = cv2.resize(gray, (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA) if step > 1 else gray
    k = _small_kernel(gray.shape, cfg, kernel)  # wider than the strokes
    # Closing (max then min filter) erases dark strokes but follows shadow edges.
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    if step > 1:
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR_EXACT)  # bit-exact on x86 and ARM
    return cv2.subtract(bg, gray)


def _thresholds(ink: np.ndarray, cfg: SegmentConfig, paper: int = 255, faint: bool = False) -> tuple[int, int, int]:
    """(noise floor, mark level, clear-ink level) of an ink map.

    The noise floor is robust (median + 4 sigma from the MAD): on a clean page it is 0, so a
    mark's faint anti-aliased edge is kept exactly. Marks are regions above 1/`mark_level` of
    the clear-ink level (Otsu, never below `min_contrast` times `paper`/255, the paper's
    grey) holding at least one clear-ink pixel; `faint` ink need only reach `faint_contrast`
    and `faint_snr` times the noise floor. All three come from one histogram. `ink` may also
    be a 1-D sample (the paper of a sheet).
    """
    hist = _histogram(ink[::2, ::2] if ink.ndim == 2 and ink.size > 40_000 else ink)
    median = _median(hist)
    deviation = np.zeros(256, np.int64)  # histogram of |pixel - median|, folded from `hist`
    deviation[: 256 - median] += hist[median:]
    deviation[1 : median + 1] += hist[:median][::-1]
    noise = int(median + cfg.noise_sigmas * 1.4826 * _median(deviation))  # 1.4826 MAD: one sigma
    contrast = cfg.min_contrast * paper // 255
    if faint:
        contrast = min(contrast, max(cfg.faint_contrast, int(cfg.faint_snr * noise)))
    high = max(contrast, _otsu(hist), noise + 2)
    return noise, max(noise + 1, high // cfg.mark_level), high


def _histogram(a: np.ndarray) -> np.ndarray:
    """256-bin histogram of a uint8 array. An ink map is mostly 0, and counting one bin over
    and over is slow, so zeros are counted apart (2-3x faster on a clean page)."""
    ink = a[a > 0]
    hist = np.bincount(ink, minlength=256)
    hist[0] = a.size - ink.size
    return hist


def _quantiles(hist: np.ndarray, qs: tuple[float, ...]) -> list[int]:
    """Values at quantiles `qs` of what a histogram counts (bins are values)."""
    cum = np.cumsum(hist)
    return [int(np.searchsorted(cum, q * cum[-1])) for q in qs]


def _median(hist: np.ndarray) -> int:
    """Median (lower middle) of the values a histogram counts."""
    return int(np.searchsorted(np.cumsum(hist), (hist.sum() + 1) // 2))


def _otsu(hist: np.ndarray) -> int:
    """Otsu's threshold of a 256-bin histogram: the level OpenCV's THRESH_OTSU picks."""
    p = hist / hist.sum()
    q1 = np.cumsum(p)
    q2 = 1.0 - q1
    m1 = np.cumsum(np.arange(256) * p)
    eps = float(np.finfo(np.float32).eps)
    valid = (np.minimum(q1, q2) >= eps) & (np.maximum(q1, q2) <= 1 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu1 = m1 / q1
        mu2 = (m1[-1] - q1 * mu1) / q2
        between = np.where(valid, q1 * q2 * (mu1 - mu2) ** 2, 0.0)
    return int(between.argmax())


FIND: Literal["find"] = "find"


def sheet(gray: np.ndarray, cfg: SegmentConfig) -> np.ndarray | None:
    """The sheet on a desk in a grey frame (`edge.page.find_page`), when the config looks
    for one: not with light ink forced (a blackboard is no sheet)."""
    return find_page(gray, cfg.desk_ratio) if cfg.find_page and cfg.polarity != "light" and gray.size else None


def find_marks(
    image: np.ndarray, cfg: SegmentConfig = SegmentConfig(), page: np.ndarray | None | Literal["find"] = FIND
) -> list[Mark]:
    """Candidate digits of a frame (BGR or gray), in no particular order. `page` is the sheet
    the digits are on (a 0/1 mask, from `edge.page.find_page`), None for the whole frame, or
    by default found here when `cfg.find_page` says so."""
    gray = to_gray(image)
    if gray.size == 0:
        return []
    if isinstance(page, str):
        page = sheet(gray, cfg)
    polarity = "dark" if page is not None else _polarity(gray, cfg) if cfg.polarity == "auto" else cfg.polarity
    # Ink takes a share of the light: `min_contrast` is set for white paper, and a dim page
    # (underexposed, in shade) has that much fewer grey levels between paper and ink.
    level = _paper_level(gray, page)
    grey = level if polarity == "dark" else 255 - level
    paper = grey if grey < cfg.dim_paper else 255
    if page is not None:  # the desk takes the paper's level, so it holds no ink and bends no background
        gray = np.where(page == 1, gray, np.uint8(level))
    found = _marks(gray, cfg, page, polarity, paper=paper)
    if found.rims is not None:  # desk past the paper's edge: it takes the paper's level too, and sets no levels
        rims = cv2.dilate(found.rims, _square(2 * cfg.halo + 3)).view(bool)
        gray = np.where(rims, np.uint8(level), gray)
        found = _marks(gray, cfg, page, polarity, paper=paper)
    marks, band = found.marks, found.band
    # A mark far taller than the others is no digit but a band of shadow (a hand, a pen, a
    # phone) narrower than the background's square, taken for ink with every digit in it:
    # the background is estimated again on the scale of the digits themselves. Most such
    # bands run off the frame, and were dropped with the digits in them: they count too.
    kernel = _shadow_kernel(marks, band, cfg)
    # Nor that: a thin pencil's faint strokes, clear of a quiet page's noise. So too where most
    # marks barely reach ink's contrast: a pencil whose graphite skipped the paper's tooth,
    # its strokes broken into specks, a few of them reaching it.
    grainy = bool(marks) and not kernel and _weak(marks, cfg, paper)
    faint = grainy or not (marks or kernel)
    if faint:
        found = _marks(gray, cfg, page, polarity, paper=paper, faint=True, smooth=grainy)
        marks, band = found.marks, found.band
        kernel = _shadow_kernel(marks, band, cfg)
    if kernel:
        marks = _marks(gray, cfg, page, polarity, kernel, paper, faint, grainy).marks
    # Strokes as wide as the background's square (a bold digit filling a crop or a form
    # cell) are taken for background and hollowed out: again with a square wide enough.
    elif marks and (kernel := _bold_kernel(gray, marks, cfg, polarity)):
        marks = _marks(gray, cfg, page, polarity, kernel, paper, faint, grainy).marks
    return marks


def _weak(marks: list[Mark], cfg: SegmentConfig, paper: int) -> bool:
    """Whether most marks barely reach ink's contrast (scaled to the `paper`'s grey): the
    median of their darkest pixels under `weak_peak` times it. A pen's strokes reach it
    everywhere; specks of noise or of a grainy pencil stroke only here and there."""
    contrast = cfg.min_contrast * paper // 255
    return float(np.median([int(m.ink.max()) for m in marks])) < cfg.weak_peak * contrast


def _bold_kernel(gray: np.ndarray, marks: list[Mark], cfg: SegmentConfig, polarity: str) -> int | None:
    """The background's square for a second look when the tallest mark's strokes, measured
    on the grey frame itself (the ink map has hollowed them), are wider than 1/`bold_stroke`
    of the square the ink map used, else None: `stroke_kernel` strokes wide."""
    box = max(marks, key=lambda m: m.box.h).box
    square = background_kernel(gray.shape, cfg)
    if cfg.bold_stroke * min(box.w, box.h) <= square:  # no stroke is wider than its mark: most frames stop here
        return None
    patch = gray[box.y : box.y + box.h, box.x : box.x + box.w]
    stroke = stroke_width(above_otsu(patch if polarity == "light" else 255 - patch))
    if cfg.bold_stroke * stroke <= square:
        return None
    return round(cfg.stroke_kernel * stroke)


def background_kernel(shape: tuple[int, ...], cfg: SegmentConfig) -> int:
    """The width in px of the square `ink_map` estimates the background with by default in
    a frame of `shape`: 1/`background_kernel` of its shorter side (at least 15)."""
    h, w = shape[:2]
    return max(1, min(h, w) // cfg.background_px) * _small_kernel(shape, cfg, None)


def _small_kernel(shape: tuple[int, ...], cfg: SegmentConfig, kernel: int | None) -> int:
    """That square's width on the small copy `ink_map` works on (odd)."""
    h, w = shape[:2]
    step = max(1, min(h, w) // cfg.background_px)
    small = min(max(1, w // step), max(1, h // step))
    return max(15 // step, small // cfg.background_kernel if kernel is None else -(-kernel // step)) | 1


def _paper_level(gray: np.ndarray, page: np.ndarray | None) -> int:
    """The paper's grey: the median of the sheet, or of the whole frame (every 4th pixel
    each way; a histogram's median, 10x faster than numpy's on a frame)."""
    sample = gray[::4, ::4]
    if page is not None:
        sample = sample[page[::4, ::4] == 1]
    return _median(np.bincount(sample.ravel(), minlength=256))


def _shadow_kernel(marks: list[Mark], band: Mark | None, cfg: SegmentConfig) -> int | None:
    """`_band_kernel` of the tallest mark, or else of the band off the frame's edge (or the
    sheet's outline)."""
    for tallest, off_edge in ((max(marks, key=lambda m: m.box.h, default=None), False), (band, True)):
        if tallest is not None and (kernel := _band_kernel(tallest, marks, cfg, off_edge)):
            return kernel
    return None


def _band_kernel(tallest: Mark, marks: list[Mark], cfg: SegmentConfig, off_edge: bool) -> int | None:
    """The background's square for a second look when the tallest mark is a band of shadow
    with digits in it, else None. It is one when it is over `outsized` times the digits'
    height, mostly faint, and its darker half falls apart into pieces of about that height
    (half to twice it): two or more, or, with `shadow_company` marks or fewer, one (a lone
    digit in the shadow). The digits' height is the marks' median or, with so few marks
    that the band holds nearly all of them, the median of those dark pieces. The square is
    `digit_kernel` of it, and never under `stroke_kernel` strokes: whatever took the
    digits' place in that median, the strokes must be erased."""
    if tallest.box.h <= cfg.outsized * cfg.min_height:  # every mark, every piece counted, is that tall
        return None
    strong = (tallest.ink > tallest.ink.max() // 2).view(np.uint8)
    # Mostly dark: a big bold digit, not a shadow (off the edge, a band may show little but its digits).
    if not off_edge and 2 * np.count_nonzero(strong) > np.count_nonzero(tallest.ink > tallest.ink.max() // 6):
        return None
    pieces = cv2.connectedComponentsWithStats(strong, connectivity=8)[2][1:, cv2.CC_STAT_HEIGHT]
    many = len(marks) > cfg.shadow_company
    heights = sorted(m.box.h for m in marks) if many else sorted(pieces[pieces >= cfg.min_height].tolist())
    if not heights or tallest.box.h <= cfg.outsized * (typical := heights[len(heights) // 2]):
        return None
    if np.count_nonzero((pieces >= typical / 2) & (pieces <= 2 * typical)) < (2 if many else 1):
        return None
    patch = tight(tallest.ink)[2]
    above = above_otsu(patch)
    if np.count_nonzero(above) > cfg.shadow_share * np.count_nonzero(strong):
        stroke = stroke_width(strong)  # what stands out is the shadow itself, as wide as the band
    else:
        stroke = stroke_width(above) / float(patch.shape[0]) * tallest.box.h  # `stroke_ratio`, in px
    return max(3, round(cfg.digit_kernel * typical), round(cfg.stroke_kernel * stroke))


class Found(NamedTuple):
    """What `_marks` found: the candidate digits; without a `kernel`, the tallest band
    dropped along the frame's edge or a sheet's outline that holds clear ink (no digit: a
    shadow's, maybe), or None; and on a first look (no `kernel`, not `faint`) the marks
    lying along the frame's edge (desk past a sheet cropped loosely) as a 0/1 mask of the
    frame, or None."""

    marks: list[Mark]
    band: Mark | None
    rims: np.ndarray | None


def _marks(
    gray: np.ndarray,
    cfg: SegmentConfig,
    page: np.ndarray | None,
    polarity: Literal["dark", "light"],
    kernel: int | None = None,
    paper: int = 255,
    faint: bool = False,
    smooth: bool = False,
) -> Found:
    """`find_marks` with ink of `polarity`, on a background estimated with a square `kernel`
    px wide (by default from the frame's size), ink reaching `min_contrast` scaled to the
    `paper`'s grey (ink takes a share of the light: on a dim page, fewer grey levels), or
    with `faint`, the faint ink level (`_thresholds`); with `smooth`, on an ink map smoothed
    as a dim page's is (a grainy stroke whole)."""
    if page is None:
        ink = ink_map(gray, cfg, polarity, kernel)
        inner = None
    else:  # on a sheet (whose desk `find_marks` has painted the paper's grey)
        ink = ink_map(gray, cfg, "dark", kernel)
        rim = round(cfg.rim * max(gray.shape) / 160)  # the sheet's own edge, and the mask's coarseness
        # Off the frame is no sheet: where the sheet's edge runs out of the frame at a slant,
        # the mask's coarseness leaves a sliver of desk along the frame's edge.
        square = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * rim + 1, 2 * rim + 1))
        inner = cv2.erode(page, square, borderType=cv2.BORDER_CONSTANT, borderValue=0).view(bool)
        ink[~inner] = 0
    noise, low, high = _thresholds(ink if inner is None else ink[inner][::4], cfg, paper, faint)  # of the sheet alone
    # Dim, noise sets the mark level; grainy strokes break at it: `smooth` both away.
    if smooth or (paper < 255 and noise >= high // cfg.mark_level):
        ink = cv2.GaussianBlur(ink, (0, 0), 1.0)
        noise, low, high = _thresholds(ink if inner is None else ink[inner][::4], cfg, paper, faint)
    mask = cv2.threshold(ink, low, 1, cv2.THRESH_BINARY)[1]  # ink > low
    # Marks and their halos lie inside the box round all ink: label and cut there alone.
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0:
        return Found([], None, None)
    H, W = gray.shape
    edge = cfg.halo
    origin = (max(0, x - edge), max(0, y - edge))
    inside = np.s_[origin[1] : min(H, y + h + edge), origin[0] : min(W, x + w + edge)]
    ink, mask = ink[inside], mask[inside]
    labels, boxes = _components(mask)
    # Ruled and grid paper: lines run through digits and weld them into one long mark.
    extent = max(H, W) if page is None else max(cv2.boundingRect(page)[2:])  # of the paper the lines are on
    # Looked for when some mark is as long as a line, or there are many: a line broken by noise.
    if ((boxes[:, 2:].max(axis=1) >= cfg.line_length * extent).any() or len(boxes) > cfg.many_marks) and _remove_lines(
        mask, extent, cfg
    ):
        labels, boxes = _components(mask)
    # In wide marks, faint ruled lines and smudges must not weld digits together. (Marks
    # without clear ink are dropped below, and so would be every piece of them.)
    wide = boxes[:, 2] > cfg.weld_width * boxes[:, 3]
    if (welded := np.flatnonzero(_holds_clear_ink(ink, labels, boxes, high, wide))).size:
        midpoint = (low + high) // 2
        for i in welded.tolist():
            where_i = _rows_cols(boxes[i])
            mask[where_i][(labels[where_i] == i) & (ink[where_i] <= midpoint)] = 0
        labels, boxes = _components(mask)
    # Specks are shorter than a third of the smallest digit or hold fewer than 4 px (an
    # 8-connected piece 4 px long or tall holds at least 4: only shorter ones are counted).
    sized = boxes[:, 2:].max(axis=1) >= cfg.min_height / cfg.speck
    # The frame's own edge (a scan's border, a sliver of desk, a canvas's outline) is no
    # digit, and its box would swallow every digit in the merging below.
    spans = np.zeros(len(boxes), bool)
    rims = None
    if cfg.frame_edge:
        x0, y0 = boxes[:, 0] + origin[0], boxes[:, 1] + origin[1]
        sides = (x0 == 0) | (x0 + boxes[:, 2] == W)
        at_edge = sides | (y0 == 0) | (y0 + boxes[:, 3] == H)
        spans = at_edge & ((boxes[:, 2] > W / cfg.edge_span) | (boxes[:, 3] > H / cfg.edge_span))
        if inner is not None:  # on a sheet, its outline is the frame's edge (a shadow runs off it)
            outline = inner & ~cv2.erode(inner.view(np.uint8), _square(3)).view(bool)
            on_outline = np.zeros(len(boxes), bool)
            on_outline[labels[outline[inside]]] = True
            on_outline[0] = False
            sheet_w, sheet_h = cv2.boundingRect(inner.view(np.uint8))[2:]
            spans |= on_outline & ((boxes[:, 2] > sheet_w / cfg.edge_span) | (boxes[:, 3] > sheet_h / cfg.edge_span))
        sized &= ~spans
        # So is a sliver a pixel or two wide along a side (a crop's dark rim, turned and
        # enlarged); one as flat along the top or bottom is under `min_height` anyway.
        sized &= ~(sides & (boxes[:, 2] <= cfg.edge_sliver))
        # And a mark lying along it, flush for most of its length: desk showing past a sheet
        # cropped a little loosely, a wedge in a corner (a stroke touches the edge briefly).
        lying = _lying_along_edge(labels, boxes, origin, (H, W), cfg.edge_contact)
        sized &= ~lying
        big = lying & (boxes[:, 2:].max(axis=1) >= cfg.min_height)  # not specks of noise
        if kernel is None and not faint and big.any():  # only a first look's are painted over
            rims = np.zeros((H, W), np.uint8)
            rims[inside] = np.isin(labels, np.flatnonzero(big))
    strong = _holds_clear_ink(ink, labels, boxes, high, sized)
    comps = [
        (i, Box(*boxes[i].tolist()))
        for i in np.flatnonzero(strong & sized).tolist()
        if boxes[i, 2:].max() >= 4 or np.count_nonzero(labels[_rows_cols(boxes[i])] == i) >= 4
    ]
    comps = sorted(comps, key=lambda c: -c[1].area)[: cfg.max_marks]  # pure noise must not explode
    marks = []
    where = dict(comps)
    for ids, box, core in _merge_pieces(comps, cfg):
        if box.h < cfg.min_height or box.h > cfg.max_extent * H or box.w > cfg.max_extent * W:
            continue
        if box.w > cfg.max_width * box.h:
            continue
        alone = rest = None
        if core:
            alone = Mark(*_extract(ink, labels, core.ids, core.box, noise, origin, edge))
            others = [i for i in ids if i not in core.ids]
            rest = Mark(
                *_extract(
                    ink, labels, others, functools.reduce(Box.union, (where[i] for i in others)), noise, origin, edge
                )
            )
        marks.append(Mark(*_extract(ink, labels, ids, box, noise, origin, edge), core=alone, rest=rest))
    # The tallest thing that ran off the frame or the sheet holding clear ink may be a band
    # of shadow (a hand's, a phone's, cast across the page and off it) with digits in it:
    # `find_marks` may look again. A look again (with a `kernel`) is not asked for it.
    held = np.flatnonzero(_holds_clear_ink(ink, labels, boxes, high, spans & (kernel is None)))
    if not held.size:
        return Found(marks, None, rims)
    i = int(held[boxes[held, 3].argmax()])
    return Found(marks, Mark(*_extract(ink, labels, [i], Box(*boxes[i].tolist()), noise, origin, edge)), rims)


def _lying_along_edge(
    labels: np.ndarray, boxes: np.ndarray, origin: tuple[int, int], frame: tuple[int, int], share: float
) -> np.ndarray:
    """Which components (`labels` cut from the frame at `origin`) lie along an edge of the
    `frame` (H, W): longer along it than deep, and flush with it along `share` of that length."""
    H, W = frame
    h, w = labels.shape
    bw, bh = boxes[:, 2], boxes[:, 3]
    edges = []
    if origin[0] == 0:
        edges.append((labels[:, 0], bh, bw))
    if origin[0] + w == W:
        edges.append((labels[:, -1], bh, bw))
    if origin[1] == 0:
        edges.append((labels[0], bw, bh))
    if origin[1] + h == H:
        edges.append((labels[-1], bw, bh))
    along = np.zeros(len(boxes), bool)
    for pixels, length, depth in edges:
        flush = np.bincount(pixels, minlength=len(boxes))[: len(boxes)]
        along |= (flush >= share * length) & (length >= depth)
    along[0] = False  # the background (no box)
    return along


def _remove_lines(mask: np.ndarray, size: int, cfg: SegmentConfig) -> bool:
    """Erase the long straight lines (ruled or grid paper, a form's borders) from `mask`, in
    place, but not where a stroke crosses them: a line pixel with ink beyond the line on
    both sides stays. Says whether any line was found. A line may be broken (faint, or cut
    by noise) into pieces no longer than a digit: gaps up to 1/`line_gap` of `size` are bridged.

    Lines are thin: they are looked for among the thin parts of the marks (a bold digit
    holds straight paths of any slope), and a segment as thick as a bold stroke is none."""
    opened: np.ndarray = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _BOLD)
    thin = mask & ~opened
    length = int(cfg.line_length * size)
    gap = max(3, size // cfg.line_gap)
    segments = cv2.HoughLinesP(thin, 1, np.pi / 360, max(20, length // 2), minLineLength=length, maxLineGap=gap)
    if segments is None:
        return False
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    found, widths = [], []
    for x0, y0, x1, y1 in segments.reshape(-1, 4).tolist():
        n = max(abs(x1 - x0), abs(y1 - y0)) + 1
        width = float(
            np.median(dist[np.linspace(y0, y1, n).round().astype(int), np.linspace(x0, x1, n).round().astype(int)])
        )
        if width <= cfg.max_line_half:
            found.append((x0, y0, x1, y1))
            widths.append(width)
    if not found:
        return False
    # A line of specks in a row (a faint line broken by noise, a vignette's noise along the
    # frame's edge) is mostly gaps, 0 wide: erased, but its width would thin the band erased
    # round every solid line to a pixel, and their edges would stay.
    solid = [w for w in widths if w > 0]
    half = max(1, round(float(np.median(solid)))) if solid else 1  # a line's half width
    lines = np.array(found)
    _erase(mask, lines, half)
    # The search stops short of a line's end where the line strays a pixel from the course
    # it follows (its half-degree steps, a page's curl, a lens): the stub left would read as
    # a 1 or weld digits. Straight pieces of thin ink left on the course of a line found are
    # its ends, erased alike.
    stubs = cv2.HoughLinesP(
        thin & mask, 1, np.pi / 360, cfg.min_height, minLineLength=cfg.min_height, maxLineGap=half + 1
    )
    if stubs is not None:
        _erase(mask, _on_course(stubs.reshape(-1, 4), lines, half), half)
    return True


def _on_course(stubs: np.ndarray, lines: np.ndarray, half: int) -> np.ndarray:
    """The segments of `stubs` (rows x0, y0, x1, y1) that lie along one of `lines`: within a
    degree of its direction, both ends within `half` + 1 px of its course."""

    def unit(seg: np.ndarray) -> np.ndarray:
        d = (seg[:, 2:] - seg[:, :2]).astype(np.float64)
        out: np.ndarray = d / np.hypot(d[:, :1], d[:, 1:])
        return out

    d, e = unit(lines), unit(stubs)  # (n, 2), (m, 2)
    near = np.abs(e[:, None, 0] * d[None, :, 1] - e[:, None, 1] * d[None, :, 0]) <= np.sin(np.pi / 180)  # parallel
    for end in (stubs[:, :2], stubs[:, 2:]):
        rel = end[:, None, :] - lines[None, :, :2]  # (m, n, 2)
        near = near & (np.abs(rel[..., 0] * d[None, :, 1] - rel[..., 1] * d[None, :, 0]) <= half + 1)
    kept: np.ndarray = stubs[near.any(axis=1)]
    return kept


def _erase(mask: np.ndarray, segments: np.ndarray, half: int) -> None:
    """Erase the line `segments` (rows x0, y0, x1, y1), `half` px each side of them, from `mask`
    in place, but not where a stroke crosses: ink `half` + 2 px beyond on both sides stays."""
    across = {True: np.zeros_like(mask), False: np.zeros_like(mask)}  # lines nearer horizontal, nearer vertical
    for x0, y0, x1, y1 in segments.tolist():
        cv2.line(across[abs(x1 - x0) >= abs(y1 - y0)], (x0, y0), (x1, y1), 1, 1)
    reach = half + 2
    for horizontal, drawn in across.items():
        if drawn.any():
            band = (
                cv2.dilate(
                    drawn,
                    cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * half + 1) if horizontal else (2 * half + 1, 1)),
                )
                & mask
            )
            axis = 0 if horizontal else 1
            crossed = (np.roll(mask, reach, axis=axis) == 1) & (np.roll(mask, -reach, axis=axis) == 1)
            mask[(band == 1) & ~crossed] = 0


_BOLD = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))  # strokes at least this thick are no ruled line


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected components of a mask: (labels, boxes). Label 0 is the background; row i
    of `boxes` is component i's (x, y, w, h). Grana's block-based labelling gives the same
    labels as OpenCV's default algorithm, faster; the boxes come from each component's outer
    contour, because OpenCV's own statistics cost three times the labelling."""
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) > MANY_CONTOURS:  # noise: a loop over contours in Python costs more than the statistics
        n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
        boxes = stats[:, :4].astype(np.int32)
        boxes[0] = 0  # the background has no box, as below
        return labels, boxes
    outer = [c for c, h in zip(contours, hierarchy[0] if contours else []) if h[3] < 0]  # not a hole
    # One outer contour per component: 16-bit labels when they fit (half the memory traffic)
    depth = cv2.CV_16U if len(outer) < 65535 else cv2.CV_32S
    n, labels = cv2.connectedComponentsWithAlgorithm(mask, 8, depth, cv2.CCL_GRANA)
    boxes = np.zeros((n, 4), np.int32)
    if outer:  # a contour's first point is a pixel of its component
        ids = labels[[c[0, 0, 1] for c in outer], [c[0, 0, 0] for c in outer]]
        boxes[ids] = [cv2.boundingRect(c) for c in outer]
    return labels, boxes


def _holds_clear_ink(
    ink: np.ndarray, labels: np.ndarray, boxes: np.ndarray, high: int, which: np.ndarray
) -> np.ndarray:
    """For each component picked by `which` (False for the others): does it hold a pixel
    of clear ink (>= `high`)? Up to ~24 components, looking in each one's box beats a pass
    over the whole frame."""
    strong = np.zeros(len(boxes), bool)
    ids = np.flatnonzero(which)
    if len(ids) > 24:
        strong[labels[cv2.threshold(ink, high - 1, 1, cv2.THRESH_BINARY)[1].view(bool)]] = True  # ink >= high
        held: np.ndarray = strong & which
        return held
    for i in ids.tolist():
        box = _rows_cols(boxes[i])
        strong[i] = cv2.minMaxLoc(ink[box], (labels[box] == i).view(np.uint8))[1] >= high
    return strong


def _rows_cols(box: np.ndarray) -> tuple[slice, slice]:
    """Index of an (x, y, w, h) box in an image."""
    x, y, w, h = box.tolist()
    return np.s_[y : y + h, x : x + w]


@functools.cache
def _square(side: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))


def _extract(
    ink: np.ndarray, labels: np.ndarray, ids: list[int], box: Box, noise: int, origin: tuple[int, int], edge: int
) -> tuple[Box, np.ndarray]:
    """The mark's ink: its pixels plus an `edge` px halo of faint edge above the noise floor,
    and its box in the frame, whose pixel `origin` (x, y) is the corner of `ink` and `labels`."""
    H, W = ink.shape
    x0, y0 = max(0, box.x - edge), max(0, box.y - edge)
    x1, y1 = min(W, box.x + box.w + edge), min(H, box.y + box.h + edge)
    sub_labels = labels[y0:y1, x0:x1]
    own = sub_labels == ids[0]
    for i in ids[1:]:
        own |= sub_labels == i
    own = cv2.dilate(own.view(np.uint8), _square(2 * edge + 1))
    above_noise = cv2.threshold(ink[y0:y1, x0:x1], noise, 0, cv2.THRESH_TOZERO)[1]
    left, top, crop = tight(np.multiply(above_noise, own))  # own is 0 or 1
    return Box(origin[0] + x0 + left, origin[1] + y0 + top, crop.shape[1], crop.shape[0]), crop


class Group(NamedTuple):
    """Components read as one mark: their label ids and the box round them."""

    ids: list[int]
    box: Box


class Merged(NamedTuple):
    """A group, with its core: the group before small pieces were attached to it, or None."""

    ids: list[int]
    box: Box
    core: Group | None


def _merge_pieces(comps: list[tuple[int, Box]], cfg: SegmentConfig) -> list[Merged]:
    """Join components that overlap mostly in x and sit close in y: pieces of one digit.
    Sizes are judged by each group's tallest component, not its growing box, so a chain of
    marks (a digit, a small letter below it, the line below that) never snowballs into one.

    Groups are taken largest first and the first joining pair (in that order) is merged
    until none is left; the test of all pairs is one array, and a merge re-tests only the
    merged group's row and column."""
    comps = sorted(comps, key=lambda c: -c[1].area)
    ids = [[i] for i, _ in comps]
    g = _corners([b for _, b in comps])  # per group; its last column: the height of its tallest component
    pairs = np.triu(_stacked(g[:, None], g[None], cfg, cfg.merge_height), 1)
    while (first := np.flatnonzero(pairs)).size:
        a, b = divmod(int(first[0]), len(g))
        ids[a] += ids.pop(b)
        g[a, :2] = np.minimum(g[a, :2], g[b, :2])
        g[a, 2:] = np.maximum(g[a, 2:], g[b, 2:])
        g = np.delete(g, b, axis=0)
        pairs = np.delete(np.delete(pairs, b, axis=0), b, axis=1)
        again = _stacked(g[a], g, cfg, cfg.merge_height)
        pairs[a, a + 1 :], pairs[:a, a] = again[a + 1 :], again[:a]
    groups = [Group(i, Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0))) for i, (x0, y0, x1, y1, _) in zip(ids, g)]
    return _stack_halves(_attach_fragments(groups, cfg), cfg)


def _corners(boxes: list[Box]) -> np.ndarray:
    """Rows of x0, y0, x1, y1 and height, one per box (what `_stacked` compares)."""
    return np.array([[b.x, b.y, b.x + b.w, b.y + b.h, b.h] for b in boxes], np.int64).reshape(-1, 5)


def _stacked(a: np.ndarray, b: np.ndarray, cfg: SegmentConfig, height: float) -> np.ndarray:
    """Whether boxes `a` and `b` (arrays of x0, y0, x1, y1 and the height of each one's
    tallest piece) lie one over the other as pieces of one digit may: overlapping mostly in
    x, close in y, and together at most `height` times the taller piece's height."""
    overlap = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    gap = np.maximum(a[..., 1], b[..., 1]) - np.minimum(a[..., 3], b[..., 3])
    tall = np.maximum(a[..., 4], b[..., 4])
    union = np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1])
    stacked: np.ndarray = (
        (overlap >= cfg.merge_overlap * np.minimum(a[..., 2] - a[..., 0], b[..., 2] - b[..., 0]))
        & (gap <= cfg.merge_gap * np.maximum(tall, cfg.min_height))
        & (union <= height * tall)
    )
    return stacked


def _stack_halves(marks: list[Merged], cfg: SegmentConfig) -> list[Merged]:
    """Pair marks stacked too tall to be surely one digit (together up to `stack_height`
    times the taller, past `merge_height`): the two halves of a digit a pen broke across, or
    two digits of lines written close. Neither is decided here: the taller is the pair's
    core and the other its rest, and the recognizer reads them as one and as two. Pieces
    at most half as tall as the other are a fragment's business (`_attach_fragments`)."""
    plain = sorted((m for m in marks if m.core is None), key=lambda m: -m.box.h)
    out = [m for m in marks if m.core is not None]
    g = _corners([m.box for m in plain])
    free = np.ones(len(plain), bool)
    for i, mark in enumerate(plain):
        if not free[i]:
            continue
        free[i] = False
        wide = np.maximum(g[:, 2], g[i, 2]) - np.minimum(g[:, 0], g[i, 0])
        tall = np.maximum(g[:, 3], g[i, 3]) - np.minimum(g[:, 1], g[i, 1])
        pair = np.flatnonzero(
            free & (2 * g[:, 4] > g[i, 4]) & _stacked(g[i], g, cfg, cfg.stack_height) & (wide <= tall)
        )
        if pair.size:
            other = plain[int(pair[0])]
            free[int(pair[0])] = False
            out.append(Merged(mark.ids + other.ids, mark.box.union(other.box), Group(mark.ids, mark.box)))
        else:
            out.append(mark)
    return out


def _attach_fragments(groups: list[Group], cfg: SegmentConfig) -> list[Merged]:
    """Give a broken-off stroke (at most half as tall as a neighbour, touching its box) back to it,
    unless the result would be wider than a digit — or, for a flat stroke across the top (the
    detached bar of a 5 or 7, often long), wider than 1.5 digit heights. Dots stay apart:
    they are too small. Each group comes with its core (the host before anything was
    attached), or None. A host takes pieces from one side of its core only: short pieces
    on both sides of a tall one are the digits either side of a long tail."""
    groups = sorted(groups, key=lambda g: -g[1].h)
    kept: list[Merged] = []
    sides: dict[int, int] = {}  # the side (-1 left, 1 right of its core's middle) a host took a piece from
    for ids, box in groups:
        host = None
        for k, (_, big, core) in enumerate(kept):
            if big.h < cfg.fragment_host * box.h:  # most pairs: digits of about one height, or a short one beside
                continue
            middle = (core.box if core else big).cx
            side = -1 if box.x + box.w <= middle else 1 if box.x >= middle else 0
            if side and -side == sides.get(k):
                continue
            gap = max(big.x - (box.x + box.w), box.x - (big.x + big.w))
            inside_y = big.y - cfg.fragment_reach * big.h <= box.cy <= big.y + (1 + cfg.fragment_reach) * big.h
            union = big.union(box)
            top_bar = box.w >= cfg.top_bar * box.h and box.cy <= big.y + cfg.top_zone * big.h
            if (
                max(box.w, box.h) >= cfg.fragment_size * big.h
                and gap <= cfg.fragment_gap * big.h
                and inside_y
                and union.w <= (cfg.top_bar if top_bar else 1.0) * union.h
                and union.h <= cfg.fragment_union * big.h
            ):
                host = k
                sides[k] = sides.get(k) or side
                break
        if host is None:
            kept.append(Merged(ids, box, None))
        else:
            hid, hbox, core = kept[host]
            kept[host] = Merged(hid + ids, hbox.union(box), core or Group(hid, hbox))
    return kept
