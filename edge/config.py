"""Every knob of recognition, named and documented once, in two frozen configs.

`SegmentConfig` decides which marks a frame holds (`edge.segment`); `RecognizerConfig` holds
it and decides how marks are read (`edge.recognize`, `edge.cuts`). Change a knob with
`dataclasses.replace(RecognizerConfig(), wide=0.9)`; the command line takes its defaults from
here. The defaults are what every figure in README was measured with.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Polarity = Literal["auto", "dark", "light"]
Rotation = Literal[0, 90, 180, 270, "auto"]
Expect = Literal["any", "one"]


@dataclass(frozen=True)
class SegmentConfig:
    """Knobs of the segmenter; defaults suit digits from ~20 px to most of the frame.
    Shares are of the digit height unless said otherwise."""

    polarity: Polarity = "auto"  # dark ink on light paper, light on dark, or decide per frame
    min_height: int = 10  # px; smaller marks are specks
    min_contrast: int = 40  # ink levels (0..255) a stroke must reach somewhere
    # where no stroke does, faint ink (a thin pencil) need only reach this, and this many times the noise floor
    faint_contrast: int = 16
    faint_snr: float = 3.0
    weak_peak: float = 1.5  # ...and so where most marks' darkest pixel stays under this many times ink's contrast
    dim_paper: int = 160  # paper darker than this grey is a dim page: ink need reach only a share of that
    max_width: float = 5.0  # w/h beyond this is a ruled line, not (touching) digits
    find_page: bool = True  # a sheet on a darker desk: read the sheet alone, its paper sets the polarity
    desk_ratio: float = 0.6  # a desk is at most this bright relative to the sheet on it (a shadow is brighter)
    frame_edge: bool = True  # drop marks along the frame's edge spanning 1/`edge_span` of it (a border, not a digit)
    edge_span: int = 3  # ...a third of the frame's width or height, or lying along it at most...
    edge_sliver: int = 2  # ...this many px deep, or lying along it (longer along it than deep)...
    edge_contact: float = 0.75  # ...flush with it along this share of its length (desk past the paper)
    # polarity: a frame whose median is at least this bright is paper (one of three votes)
    bright_median: int = 110
    polarity_px: int = 320  # the other votes look at a copy at most this big...
    polarity_window: int = 10  # ...whether strokes stand darker than the mean in a window 1/this of it
    polarity_tail: float = 0.0005  # ...the darkest and lightest this share of pixels: where ink reaches
    # ink map: the background is a closing on a copy of at most this many px on its shorter side...
    background_px: int = 120
    background_kernel: int = 8  # ...with a square this many times smaller than that copy (wider than strokes)
    outsized: float = 2.5  # a mark this many times taller than the digits is a band of shadow...
    shadow_company: int = 3  # ...the digits' height: the median mark's, or with this many marks or fewer,
    # the median dark piece's inside that band; then the background's square is...
    digit_kernel: float = 0.6  # ...this share of the digits' height...
    stroke_kernel: float = 3.0  # ...and at least this many times the band's stroke width
    bold_stroke: float = 2.0  # a square under this many strokes wide hollows them: again, `stroke_kernel` wide
    shadow_share: float = 4.0  # ...measured on its dark pieces when its ink above Otsu is this many times theirs
    # thresholds: noise floor = median + this many robust sigmas of the ink map
    noise_sigmas: float = 4.0
    mark_level: int = 3  # a mark is a region above 1/this of the clear-ink level...
    halo: int = 2  # ...and keeps this many px of faint edge round its pixels
    # a sheet's own outline (shaded or curled): px of a 160 px copy left out inside it
    rim: int = 4
    # ruled and grid lines: a straight line this long (share of the paper's longer side)...
    line_length: float = 0.3
    line_gap: int = 20  # ...broken by gaps up to 1/this of that side...
    max_line_half: int = 3  # ...and at most this many px wide on each side of its middle, is erased
    many_marks: int = 60  # more marks than this may be the pieces of a broken ruled line: look for lines
    weld_width: float = 1.3  # in marks wider than this (w/h), only ink above the levels' midpoint connects
    speck: int = 3  # marks shorter than min_height / this are specks
    max_marks: int = 300  # the largest this many marks are kept: pure noise must not explode
    max_extent: float = 0.98  # share of the frame a mark may span: a bigger one is the frame's border
    # pieces of one digit: overlapping this much in x (of the narrower)...
    merge_overlap: float = 0.6
    merge_gap: float = 0.3  # ...at most this far apart in y (of the taller, or of min_height)...
    merge_height: float = 1.6  # ...and together at most this many times the taller piece's height
    stack_height: float = 2.0  # up to this: one digit or two, the recognizer reads both ways
    # a broken-off stroke joins a mark at least `host` times as tall...
    fragment_host: float = 2.0
    fragment_size: float = 0.2  # ...if its longer side is at least this share of that mark's height...
    fragment_gap: float = 0.2  # ...and it lies at most this share of that height away...
    fragment_union: float = 1.3  # ...and the two are at most this many times as tall as the mark...
    fragment_reach: float = 0.25  # ...its centre at most this share of that height above or below the mark
    top_bar: float = 1.5  # a flat stroke (w/h at least this) across the top may widen its mark to this w/h...
    top_zone: float = 0.3  # ...where the top is the upper this share of the mark


@dataclass(frozen=True)
class RecognizerConfig:
    """How a frame is read, given its marks: confidence rules, cuts of touching digits,
    working resolution, orientation, and what to expect."""

    segment: SegmentConfig = field(default_factory=SegmentConfig)
    min_confidence: float = 0.35  # digits less probable than this are guesses between digits: dropped
    in_number_none: float = 0.97  # a doubtful mark inside a number is read unless P(not a digit) is above this
    # a digit read less surely than this is read again shifted 1 px four ways (`model.SHIFTED`), the five
    # readings averaged: where MNIST-style centring lands between pixels, a second look settles it
    second_look: float = 0.99
    tall_one: float = 4.0  # a 1 this many times the others' median height (two or more) is an edge or a shadow's rim
    doubts: bool = False  # report the marks the model doubted (Recognition.doubts), for --collect
    doubt_confidence: float = 0.9  # a digit read less surely than this is a doubt, worth collecting for a label...
    doubt_band: float = 0.25  # ...and so is a mark turned away with P(not a digit) this close to the threshold
    wide: float = 0.8  # w/h above which a mark may be several touching digits
    sure_piece: float = 0.7  # a cut is taken only if the model is at least this sure of every piece
    # Each extra piece must earn its place: a split's score is multiplied by this per piece beyond
    # the first, so no split scores above it, and a mark read whole more surely is settled.
    split_price: float = 0.97
    max_parts: int = 4  # a wide mark is split into at most this many digits...
    narrowest: float = 0.35  # ...and at most as many as digits this narrow (w/h) would fit in it
    thinnest: float = 0.1  # a piece is at least this wide (share of the mark's height: a 1 is thin)...
    shortest: float = 0.4  # ...and at least this share of the mark's height tall
    paths_apart: float = 0.25  # split paths cross the middle row at least this share of the height apart
    path_rows: int = 32  # split paths are searched on at most this many rows
    sidestep: float = 40.0  # cost of a split path's sideways step, in ink levels: it bends round strokes
    min_share: float = 0.05  # a split leaves at least this share of a mark's ink on either side
    # Stroke width as a share of a mark's height (`preprocess.stroke_ratio`). MNIST's digits
    # sit at 0.117 (median), 2% of them under 0.075; a thin pen on a big digit reads
    # 0.03-0.05, a hairline once scaled to 20 px. Thinner than almost all the model saw: thickened
    # to MNIST's median before `prepare`, so the model sees the strokes it was trained on.
    stroke_floor: float = 0.075
    stroke_target: float = 0.117
    work_pixels: int = 1_300_000  # bigger frames are read at this size first (a 12 MP photo: 1/3 each side)
    min_work_height: int = 24  # px: digits this tall at the working size are read there...
    fine_height: int = 32  # ...smaller ones again where they are this tall, or at full size
    min_enlarge: float = 1.2  # smaller frames with digits under `min_work_height`: enlarged, by at least this
    fine_pixels: int = 13_000_000  # a frame where nothing was read at the working size: again on at most this
    rotate: Rotation = 0  # degrees counter-clockwise to turn each image, or "auto": the surest of four
    expect: Expect = "any"  # any number of digits, or "one" per image (a crop, a form cell)


def add_arguments(p: argparse.ArgumentParser, per_image: bool = False) -> None:
    """The recognizer's options of a command, defaults from the config; `per_image` adds
    the ones for still images (`--rotate`, `--expect`)."""
    d = RecognizerConfig()
    p.add_argument(
        "--polarity",
        choices=["auto", "dark", "light"],
        default=d.segment.polarity,
        help="ink darker or lighter than the background, or decide per frame (default %(default)s)",
    )
    p.add_argument(
        "--min-confidence",
        type=float,
        default=d.min_confidence,
        help="drop digits the model is less sure of (default %(default)s)",
    )
    if not per_image:
        return
    p.add_argument(
        "--rotate",
        choices=["0", "90", "180", "270", "auto"],
        default=str(d.rotate),
        help="degrees counter-clockwise to turn each image to read it, or auto: try all four quarter "
        "turns and keep the surest reading (4x the work). JPEG EXIF orientation is always applied first",
    )
    p.add_argument(
        "--expect",
        choices=["any", "one"],
        default=d.expect,
        help="one: each image is a single digit (a crop, a form cell) and gets exactly one, the most "
        "probable, with P(that digit | a digit) as its confidence; blank images get none (default %(default)s)",
    )


def from_arguments(args: argparse.Namespace) -> RecognizerConfig:
    """The config the options of `add_arguments` describe."""
    d = RecognizerConfig()
    changes: dict[str, Any] = {
        "segment": replace(d.segment, polarity=args.polarity),
        "min_confidence": args.min_confidence,
    }
    if hasattr(args, "rotate"):
        changes.update(rotate=args.rotate if args.rotate == "auto" else int(args.rotate), expect=args.expect)
    return replace(d, **changes)
