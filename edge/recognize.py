"""Frame -> Recognition: segment, prepare every mark, classify them in batches.

Every mark is classified whole, and a mark with small pieces attached also without them,
in one batched call. Wide marks may be touching digits: those no whole reading settles
are cut into 2..4 pieces, classified in a second batched call; the reading the model is
surest of wins (recognition-guided cuts). A mark the model doubts is dropped, unless it
sits inside a number, where it is read as its most probable digit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from digitedge.edge.config import RecognizerConfig, Rotation
from digitedge.edge.cuts import Option, Splits, split_options, whole
from digitedge.edge.data import Box, Digit, Doubt, Recognition
from digitedge.edge.images import to_gray
from digitedge.edge.lines import group_lines, read_line
from digitedge.edge.model import Classifier, Prediction
from digitedge.edge.preprocess import SIZE, even_stroke, prepare
from digitedge.edge.segment import Mark, find_marks, ink_map, sheet
from digitedge.edge.view import View, look

ROTATIONS = (0, 90, 180, 270)


@dataclass(frozen=True)
class Piece:
    """A mark or a piece of one as the model saw it: its ink, its 28x28 input, the prediction."""

    mark: Mark
    input: np.ndarray
    prediction: Prediction


@dataclass(frozen=True)
class Candidates:
    """Every way to read one mark: its `pieces`, each classified, and `options`, the ways to
    read them (option 0 reads the mark whole)."""

    pieces: tuple[Piece, ...]
    options: tuple[Option, ...]

    def best(self, cfg: RecognizerConfig) -> tuple[Piece, ...]:
        """The pieces read as digits by the best option."""
        return tuple(self.pieces[i] for i in self.best_option(cfg).read)

    def best_option(self, cfg: RecognizerConfig) -> Option:
        """The option the model is surest of (`score`); the first of equals."""
        return max(self.options, key=lambda o: self.score(o, cfg))

    def score(self, option: Option, cfg: RecognizerConfig) -> float:
        """How believable a reading is: the geometric mean of the model's belief in each of
        its claims, that each piece read is a digit and each piece unread is not. Pieces cut
        from letters often look like digits, so a cut needs every piece to be sure (pieces
        the segmenter found apart need not be: a short digit touching a long tail the model
        doubts is still two digits, not a sure one left unread), and all 1s are the strokes
        of a U, V, N or H far more often than 1s side by side. A
        cut costs `split_price`, and so does a 1 under half the height of a digit beside it
        (a broken-off stroke far more often); other pieces that lie apart on the paper pay
        nothing, so a short digit beside a tall one is read beside it, not dropped as a speck."""
        pieces = [self.pieces[i] for i in option.read]
        read = [p.prediction for p in pieces]
        price = 1.0
        if len(read) > 1:
            unsure = min(p.digit_confidence for p in read) < cfg.sure_piece
            if option.cut and unsure or all(p.label == 1 for p in read):
                return 0.0
            tallest = max(p.mark.box.h for p in pieces)
            if option.cut or any(p.prediction.label == 1 and 2 * p.mark.box.h < tallest for p in pieces):
                price = cfg.split_price ** (len(read) - 1)
        unread = [self.pieces[i].prediction.none_probability for i in option.unread]
        beliefs = [p.digit_confidence for p in read] + unread
        return math.exp(sum(math.log(max(b, 1e-6)) for b in beliefs) / len(beliefs)) * price


class Recognizer:
    """Builds the interpreter once; `recognize(frame)` is the one verb, for live and batch.

    Every knob is in `config` (`edge.config.RecognizerConfig`); keyword `changes` replace
    some of them, e.g. `Recognizer(rotate="auto")`: try all four quarter turns and keep the
    surest reading (four times the work), or `Recognizer(expect="one")`: one digit per image
    (a crop, a form cell), always the most probable, with P(that digit | it is a digit) as
    its confidence."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        config: RecognizerConfig | None = None,
        num_threads: int = 1,
        **changes: Any,
    ) -> None:
        self.config = dataclasses.replace(config or RecognizerConfig(), **changes)
        _checked(self.config.rotate)
        if self.config.expect not in ("any", "one"):
            raise ValueError(f"expect={self.config.expect!r}, expected 'any' or 'one'")
        self.classifier = Classifier(model_path, num_threads=num_threads)
        self.segment = self.config.segment

    def recognize(self, image: np.ndarray, rotate: Rotation | None = None) -> Recognition:
        """Read the digits of a BGR or grayscale image; marks the model doubts are dropped.
        `rotate` overrides the recognizer's own for this image."""
        return self.recognize_with_inputs(image, rotate)[0]

    def recognize_with_inputs(
        self, image: np.ndarray, rotate: Rotation | None = None
    ) -> tuple[Recognition, list[np.ndarray]]:
        """`recognize`, plus the 28x28 model input of each digit (same order), for display."""
        gray = to_gray(image)
        cfg = self.config
        rotate = _checked(cfg.rotate if rotate is None else rotate)
        H, W = gray.shape
        if H * W <= cfg.work_pixels:
            result, inputs = self._read_gray(gray, rotate)
            height = statistics.median(d.box.h for d in result.digits) if result.digits else 0
            # Digits this small (a page far from a webcam, small handwriting) are read again
            # enlarged to `fine_height`, as far as `work_pixels` allows: strokes of a few px
            # and 0s written as small o's come out where the model can read them.
            finer = min(cfg.fine_height / height, math.sqrt(cfg.work_pixels / (H * W))) if height else 1.0
            if height >= cfg.min_work_height or finer < cfg.min_enlarge:
                return result, inputs
            return self._read_scaled(gray, finer, rotate)
        # A big photo is read at a working size first; if its digits come out small there,
        # again where they are `fine_height` px tall (or at full size). Boxes come back to the frame.
        scale = math.sqrt(cfg.work_pixels / (H * W))
        result, inputs = self._read_scaled(gray, scale, rotate)
        height = statistics.median(d.box.h for d in result.digits) if result.digits else 0
        if height >= cfg.min_work_height:
            return result, inputs
        # Nothing read: its digits may be too small here, so again finer, but on at most
        # `fine_pixels` (a 12 MP photo in full; a 49 MP page of speckle must not cost a full read).
        finer = min(1.0, scale * cfg.fine_height / height if height else math.sqrt(cfg.fine_pixels / (H * W)))
        return self._read_gray(gray, rotate) if finer >= 1 else self._read_scaled(gray, finer, rotate)

    def _read_scaled(self, gray: np.ndarray, scale: float, rotate: Rotation) -> tuple[Recognition, list[np.ndarray]]:
        """Read a grey frame resized by `scale`; boxes in the frame's own pixels."""
        H, W = gray.shape
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        small = cv2.resize(gray, (max(1, round(W * scale)), max(1, round(H * scale))), interpolation=interpolation)
        result, inputs = self._read_gray(small, rotate)
        return result.scaled(W / small.shape[1], W, H), inputs

    def _read_gray(self, gray: np.ndarray, rotate: Rotation) -> tuple[Recognition, list[np.ndarray]]:
        """Read a grey frame turned by `rotate` (or the surest of four turns)."""
        read = self._read_one if self.config.expect == "one" else self._read
        if rotate == "auto":  # the sheet is found once, then the view turned four ways
            page = sheet(gray, self.segment)
            return max(
                (read(look(gray, self.segment, turns, page)) for turns in range(4)), key=lambda r: sureness(r[0])
            )
        return read(look(gray, self.segment, int(rotate) // 90))

    def _read_one(self, view: View) -> tuple[Recognition, list[np.ndarray]]:
        """The one digit of a view: all its marks but specks (a quarter of the tallest, or
        less) as one, or, where nothing stands out from the paper, the whole view. A crop may
        hold a form cell's border (to drop, as segmentation does) or a digit cut tight
        against its edges (to keep: read again with paper padded all round, so nothing of it
        lies on the frame's edge); the surer digit wins."""
        pad = max(4, max(view.gray.shape) // 6)
        padded = cv2.copyMakeBorder(view.gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=int(np.median(view.gray)))
        tight = dataclasses.replace(self.segment, frame_edge=False, find_page=False)
        pieces = []
        for marks, shift in (
            (find_marks(view.gray, self.segment, page=view.page), 0),
            (find_marks(padded, tight), pad),
        ):
            tall = max((m.box.h for m in marks), default=0)
            if parts := [m for m in marks if m.box.h > tall / 4]:
                whole = _union(parts)
                pieces.append(Mark(Box(whole.box.x - shift, whole.box.y - shift, whole.box.w, whole.box.h), whole.ink))
        if not pieces:
            pieces.append(Mark(Box(0, 0, view.gray.shape[1], view.gray.shape[0]), ink_map(view.gray, self.segment)))
        try:
            read = self._second_look(self._pieces(pieces))
        except ValueError:  # a blank image: no ink at all
            return Recognition(*view.frame_size, (), ()), []
        best = max(read, key=lambda piece: piece.prediction.digit_probability)
        p = best.prediction
        digit = Digit(view.to_frame(ink_points(best.mark)), p.digit, p.conditional_probability)
        return Recognition(*view.frame_size, (digit,), (str(p.digit),)), [best.input]

    def _read(self, view: View) -> tuple[Recognition, list[np.ndarray]]:
        """Segment a view, read its marks, and report digits and lines in frame pixels."""
        marks = find_marks(view.gray, self.segment, page=view.page)
        sure, doubtful, rejected = [], [], []  # (digit, the piece it was read from); pieces
        cfg = self.config
        for piece in self._second_look([piece for candidates in self.read(marks) for piece in candidates.best(cfg)]):
            p = piece.prediction
            if p.label is not None and p.confidence >= cfg.min_confidence:
                sure.append((Digit(ink_box(piece.mark), p.label, p.confidence), piece))
            elif p.none_probability < cfg.in_number_none and p.conditional_probability >= cfg.min_confidence:
                doubtful.append((Digit(ink_box(piece.mark), p.digit, p.conditional_probability), piece))
            else:
                rejected.append(piece)
        sure_boxes = [d.box for d, _ in sure]
        in_number = [t for t in doubtful if in_a_number(t[0].box, sure_boxes)]
        read = _without_cut_ones(_without_outsized_ones(sure + in_number, cfg.tall_one), view.gray.shape[0])
        kept = {id(d): (d, piece) for d, piece in read}
        lines = group_lines([d for d, _ in kept.values()])  # in the view, where rows run level
        ordered = [kept[id(d)] for line in lines for d in line]
        digits = tuple(Digit(_frame_box(piece.mark, view, d.box), d.label, d.confidence) for d, piece in ordered)
        width, height = view.frame_size
        recognition = Recognition(width, height, digits, tuple(read_line(line) for line in lines))
        if cfg.doubts:  # only when they are collected: no work per frame otherwise
            threshold = self.classifier.none_threshold or 0.5
            doubts = (
                [("low confidence", piece) for d, piece in sure if d.confidence < cfg.doubt_confidence]
                + [("doubted in a number", piece) for _, piece in in_number]
                + [
                    ("near rejection", p)
                    for p in rejected
                    if abs(p.prediction.none_probability - threshold) <= cfg.doubt_band
                ]
            )
            recognition = dataclasses.replace(recognition, doubts=tuple(_doubt(why, p, view) for why, p in doubts))
        return recognition, [piece.input for _, piece in ordered]

    def read(self, marks: list[Mark]) -> list[Candidates]:
        """Every way to read each mark that could win (`readings`), each piece classified.

        Two batched calls: first every mark whole (and without its attached pieces), then
        the splits of the wide marks that no whole reading has settled. A split scores at
        most `split_price` (`Candidates.score`), so a mark read more surely than that whole
        keeps its whole reading whatever its splits would say: leaving them out changes no
        result, and on a page of clear digits it leaves out most of the work."""
        cfg = self.config
        first = self.classify_splits(_with_cores(marks, [whole(m) for m in marks]))
        unsettled = [
            mark
            for mark, candidates in zip(marks, first)
            if _wide(mark, cfg) and candidates.score(candidates.best_option(cfg), cfg) <= cfg.split_price
        ]
        if not unsettled:
            return first
        splits = dict(zip(map(id, unsettled), split_options(unsettled, cfg)))
        # piece 0 of a split is the mark itself, classified above: only the others are new
        new = iter(self._pieces([p for s in splits.values() for p in s.pieces[1:]]))
        out = []
        for mark, candidates in zip(marks, first):
            if (split := splits.get(id(mark))) is None:
                out.append(candidates)
                continue
            k = len(split.pieces) - 1  # the pieces in `readings` order: the mark, its split pieces, core and rest
            pieces = (candidates.pieces[0], *(next(new) for _ in range(k)), *candidates.pieces[1:])
            options = split.options + tuple(_shifted(o, k) for o in candidates.options[1:])
            out.append(Candidates(pieces, options))
        return out

    def classify_splits(self, splits: list[Splits]) -> list[Candidates]:
        """Every piece of every mark's splits classified, in one interpreter call."""
        pieces = iter(self._pieces([p for s in splits for p in s.pieces]))
        return [Candidates(tuple(next(pieces) for _ in s.pieces), s.options) for s in splits]

    def _second_look(self, pieces: list[Piece]) -> list[Piece]:
        """The pieces chosen to be read, those the model is unsure of read again by
        `Classifier.shifted_probabilities`: after the cuts are chosen, so it settles which
        digit a piece is (and whether it is one), never where a mark is cut."""
        unsure = [i for i, p in enumerate(pieces) if _top(p.prediction) < self.config.second_look]
        if not unsure:
            return pieces
        batch = np.stack([pieces[i].input for i in unsure])[..., None]
        again = self.classifier.read_again(batch)
        out = list(pieces)
        for i, prediction in zip(unsure, again):
            out[i] = dataclasses.replace(pieces[i], prediction=prediction)
        return out

    def _pieces(self, marks: list[Mark]) -> list[Piece]:
        """Marks with their model inputs and predictions, in one interpreter call."""
        batch, preds = self._classify(marks)
        return [Piece(m, batch[i, :, :, 0], p) for i, (m, p) in enumerate(zip(marks, preds))]

    def _classify(self, pieces: list[Mark]) -> tuple[np.ndarray, list[Prediction]]:
        """Model inputs of the pieces and their predictions, in one interpreter call."""
        floor, target = self.config.stroke_floor, self.config.stroke_target
        inputs = [prepare(even_stroke(p.ink, floor, target)) for p in pieces]
        batch = np.stack(inputs)[..., None] if inputs else np.empty((0, SIZE, SIZE, 1), np.uint8)
        return batch, self.classifier.classify(batch)


def _top(p: Prediction) -> float:
    """The model's top probability for a piece, whichever class it is."""
    return max(p.digit_probability, p.none_probability)


def _shifted(option: Option, k: int) -> Option:
    """An option with its piece indices moved on by `k`."""
    return Option(tuple(i + k for i in option.read), tuple(i + k for i in option.unread), option.cut)


def _checked(rotate: Rotation) -> Rotation:
    """`rotate`, or ValueError naming it."""
    if rotate not in (*ROTATIONS, "auto"):
        raise ValueError(f"rotate={rotate!r}, expected one of 0, 90, 180, 270 or 'auto'")
    return rotate


def _union(marks: list[Mark]) -> Mark:
    """Marks as one: their inks on the box round them all."""
    box = functools.reduce(Box.union, (m.box for m in marks))
    ink = np.zeros((box.h, box.w), np.uint8)
    for m in marks:
        region = ink[m.box.y - box.y : m.box.y - box.y + m.box.h, m.box.x - box.x : m.box.x - box.x + m.box.w]
        np.maximum(region, m.ink, out=region)
    return Mark(box, ink)


def sureness(result: Recognition) -> float:
    """How much a reading says: the sum of its digits' confidences. Turned the wrong way,
    fewer marks read as digits, and less surely."""
    return sum(d.confidence for d in result.digits)


def readings(marks: list[Mark], cfg: RecognizerConfig) -> list[Splits]:
    """Every way to read each mark: whole; cut into touching digits if it is wide; without
    the pieces attached to it, if any."""
    is_wide = [_wide(m, cfg) for m in marks]
    cut = iter(split_options([m for m, wide in zip(marks, is_wide) if wide], cfg))
    return _with_cores(marks, [next(cut) if wide else whole(m) for m, wide in zip(marks, is_wide)])


def _wide(mark: Mark, cfg: RecognizerConfig) -> bool:
    """Whether a mark is wide enough to be touching digits."""
    return mark.box.w > cfg.wide * mark.box.h


def _with_cores(marks: list[Mark], splits: list[Splits]) -> list[Splits]:
    """Each mark's ways to read it, plus, for a mark with attached pieces, the reading of
    its core with those pieces as not digits and, where they stand beside it rather than
    over it (or are the other half of a stacked pair), the reading of both as digits."""
    out = []
    for mark, split in zip(marks, splits):
        if mark.core is None or mark.rest is None:
            out.append(split)
            continue
        core, rest = len(split.pieces), len(split.pieces) + 1
        options = [*split.options, Option((core,), unread=(rest,))]
        a, b = mark.core.box, mark.rest.box
        if b.x >= a.x + a.w / 2 or b.x + b.w <= a.x + a.w / 2:  # beside, not over or under
            options.append(Option((core, rest) if b.x > a.x else (rest, core)))
        elif 2 * b.h > a.h:  # stacked halves (segment._stack_halves): one digit broken, or two
            options.append(Option((core, rest) if b.y > a.y else (rest, core)))
        out.append(Splits((*split.pieces, mark.core, mark.rest), tuple(options)))
    return out


def _clear(mark: Mark) -> np.ndarray:
    """A mark's clear ink (at least a third of its darkest), leaving out the faint blurred
    edge the model input keeps: where the digit is, as a reader would draw it."""
    return (mark.ink >= max(1, int(mark.ink.max()) // 3)).view(np.uint8)


def ink_box(mark: Mark) -> Box:
    """The box of a mark's clear ink."""
    x, y, w, h = cv2.boundingRect(_clear(mark))
    return Box(mark.box.x + x, mark.box.y + y, w, h)


def ink_points(mark: Mark) -> np.ndarray:
    """The corners of a mark's clear-ink pixels, (N, 2) x, y: its outline, to be mapped
    elsewhere (a turned view's box of a thin 1 would be far wider than the 1)."""
    contours = cv2.findContours(_clear(mark), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0]
    xy = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float32) + np.array(
        [mark.box.x, mark.box.y], np.float32
    )
    return np.concatenate([xy, xy + np.array([1, 0], np.float32), xy + np.array([0, 1], np.float32), xy + 1])


def _frame_box(mark: Mark, view: View, box: Box | None = None) -> Box:
    """A mark's box in the frame: its clear ink's box (`box`, if known), or, in a turned
    view, the box round its outline mapped back."""
    if view.back is None:
        return box or ink_box(mark)
    return view.to_frame(ink_points(mark))


def _doubt(why: str, piece: Piece, view: View) -> Doubt:
    p = piece.prediction
    return Doubt(
        why, _frame_box(piece.mark, view), piece.input, p.digit, p.conditional_probability, p.label, p.none_probability
    )


def _without_outsized_ones(read: list[tuple[Digit, Piece]], factor: float) -> list[tuple[Digit, Piece]]:
    """The digits read but a 1 over `factor` times as tall as the median of two or more others:
    a straight dark edge many digits tall is a sheet's edge or a shadow's rim, not a digit."""
    heights = [d.box.h for d, _ in read]
    if len(heights) < 3:
        return read
    out = []
    for i, (d, piece) in enumerate(read):
        if d.label == 1 and d.box.h > factor * statistics.median(heights[:i] + heights[i + 1 :]):
            continue
        out.append((d, piece))
    return out


def _without_cut_ones(read: list[tuple[Digit, Piece]], height: int) -> list[tuple[Digit, Piece]]:
    """The digits read but a 1 running out of the top or bottom of a view `height` px tall:
    a straight stroke the frame cuts is a line running on (a grid or ruled line, a table's
    or a margin's rule), not a 1, which ends on the paper."""
    return [(d, p) for d, p in read if d.label != 1 or 0 < p.mark.box.y and p.mark.box.y + p.mark.box.h < height]


def in_a_number(box: Box, sure: list[Box]) -> bool:
    """Whether a mark sits inside a number: next to a sure digit on the same line (beside
    most of the shorter one's height), between half and twice its height (handwriting
    mixes small round 0s with 7s and 9s whose tails hang below the line), no further away
    than the taller one is high. Such a mark is a digit the model doubts (a bold or oddly
    shaped one) far more often than a letter: it is read as the most probable digit, with
    P(digit | it is a digit) as its confidence."""
    for s in sure:
        short, tall = sorted((box.h, s.h))
        beside = min(box.y + box.h, s.y + s.h) - max(box.y, s.y)
        gap = max(s.x - (box.x + box.w), box.x - (s.x + s.w))
        if 2 * short >= tall and beside >= 0.6 * short and -0.3 * min(box.w, s.w) <= gap <= tall:
            return True
    return False
