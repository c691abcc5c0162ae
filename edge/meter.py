"""Meter mode (`camera --meter CONFIG`): a counter's digit wheels read at fixed places, with
the checks meter readers need before a value is published.

The config is a JSON file (checked on loading; errors name the file and the key):

    {"digits": [[x, y, w, h], ...],   # one box per wheel, left to right, in frame pixels
     "decimals": 3,                   # wheels after the decimal point
     "allow_decrease": false,         # a meter only counts up, unless this says otherwise
     "max_rate_per_minute": 2.0,      # largest plausible rise per minute (and/or per hour)
     "max_rate_per_hour": null,
     "min_confidence": 0.6,           # a wheel read less surely than this is half-rolled
     "state_file": "meter-state.json",   # the previous value, kept across restarts
     "reference": [x, y, w, h],       # optional: a mark to align on (a logo, a frame corner)
     "search": 40}                    # px it may move between the first frame and any other

With a reference mark, each frame is first aligned on it (the mark as the first frame shows
it, searched for by correlation), so a camera nudged by a few pixels still reads; a frame
where it is not found is not read. Every wheel is read as one digit (`Recognizer(expect=
"one")`). A wheel caught between two digits (read as not a digit, unsure, or taller or
shorter than the other wheels' digits: two cut-off halves) takes its value from the previous
reading and the wheel to its right (if that wheel has wrapped past 0 since, this one has
moved on by one; otherwise it has not). The value must then be plausible against the
previous one: no fall unless allowed, no rise faster than the rates. A value that fails is
withheld: `value` keeps the previous one, `raw` shows what was read, `error` says why. The
previous value is written atomically to `state_file` after every change, and
`set_prevalue` (MQTT `<base>/ctrl/set_prevalue`, or `serve`'s `POST /api/set_prevalue`)
replaces it when a person says so.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from digitedge.edge.data import Box, Digit, Recognition
from digitedge.edge.recognize import Recognizer

log = logging.getLogger(__name__)


class MeterError(ValueError):
    """A meter config or value that cannot be used, named."""


@dataclass(frozen=True)
class MeterConfig:
    """What a meter config file says; see the module's text."""

    digits: tuple[Box, ...]
    decimals: int = 0
    allow_decrease: bool = False
    max_rate_per_minute: float | None = None
    max_rate_per_hour: float | None = None
    min_confidence: float = 0.6
    state_file: Path | None = None
    reference: Box | None = None  # a mark to align on: where it is in the first frame
    search: int = 40  # px the camera may move from there
    min_match: float = 0.6  # normalized correlation under which the mark counts as not found
    whole_height_tolerance: float = 0.15  # a digit taller or shorter than the wheels' median by more is half-rolled

    @classmethod
    def from_file(cls, path: Path) -> MeterConfig:
        """The config in `path`; MeterError naming the file and key when it is not right."""
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise MeterError(f"{path}: cannot read a JSON meter config ({exc})") from None
        if not isinstance(raw, dict):
            raise MeterError(f"{path}: a meter config is a JSON object")
        known = {"digits", "decimals", "allow_decrease", "max_rate_per_minute", "max_rate_per_hour"}
        known |= {"min_confidence", "state_file", "reference", "search"}
        if unknown := sorted(set(raw) - known):
            raise MeterError(f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        boxes = raw.get("digits")
        if not isinstance(boxes, list) or not boxes:
            raise MeterError(f"{path}: digits must be a list of [x, y, w, h] boxes, one per wheel")
        for i, b in enumerate(boxes):
            if not (isinstance(b, list) and len(b) == 4 and all(type(v) is int for v in b) and b[2] > 0 < b[3]):
                raise MeterError(f"{path}: digits[{i}] = {b!r}: expected [x, y, w, h], whole pixels, w and h > 0")
        decimals = raw.get("decimals", 0)
        if type(decimals) is not int or not 0 <= decimals <= len(boxes):
            raise MeterError(f"{path}: decimals = {decimals!r}: expected a whole number 0..{len(boxes)}")
        rates = {k: raw.get(k) for k in ("max_rate_per_minute", "max_rate_per_hour")}
        for key, value in rates.items():
            if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or value <= 0):
                raise MeterError(f"{path}: {key} = {value!r}: expected a number > 0, or null")
        confidence = raw.get("min_confidence", 0.6)
        if not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
            raise MeterError(f"{path}: min_confidence = {confidence!r}: expected a number 0..1")
        if not isinstance(raw.get("allow_decrease", False), bool):
            raise MeterError(f"{path}: allow_decrease must be true or false")
        reference = raw.get("reference")
        if reference is not None and not (
            isinstance(reference, list) and len(reference) == 4 and all(type(v) is int for v in reference)
        ):
            raise MeterError(f"{path}: reference = {reference!r}: expected [x, y, w, h] of a mark to align on, or null")
        search = raw.get("search", 40)
        if type(search) is not int or search < 0:
            raise MeterError(f"{path}: search = {search!r}: expected whole pixels >= 0")
        state = raw.get("state_file")
        if state is not None and not isinstance(state, str):
            raise MeterError(f"{path}: state_file must be a path")
        return cls(
            tuple(Box(*b) for b in boxes),
            decimals,
            raw.get("allow_decrease", False),
            rates["max_rate_per_minute"],
            rates["max_rate_per_hour"],
            float(confidence),
            (path.parent / state) if state else None,
            Box(*reference) if reference else None,
            search,
        )


class Meter:
    """Reads the wheels of a frame (`read`, the live loop's reader) and turns the digits into a
    checked value (`update`, the live loop's stable reading)."""

    def __init__(self, cfg: MeterConfig, model: str | Path | None = None) -> None:
        self.cfg = cfg
        self.reader = Recognizer(model, expect="one")
        self.value: Decimal | None = None
        self.value_time = 0.0
        self.digits: tuple[int, ...] | None = None  # of the previous value, one per wheel
        self.raw = ""
        self.error: str | None = None
        self.lines: tuple[str, ...] = ()
        self.template: np.ndarray | None = None  # the reference mark, cut from the first frame
        self.lock = threading.Lock()  # set_prevalue comes from MQTT's thread
        if cfg.state_file and cfg.state_file.exists():
            state = json.loads(cfg.state_file.read_text())
            self._accept(Decimal(state["value"]), float(state["time"]), persist=False)

    def read(self, frame: np.ndarray) -> Recognition:
        """Each wheel as one digit, in frame coordinates; a wheel with nothing on it, or with a
        digit cut short by its window, reads with confidence 0 (doubtful), so the line always
        has one digit per wheel."""
        height, width = frame.shape[:2]
        shift = self._shift(frame)
        if shift is None:
            return Recognition(width, height, (), ())  # the mark is not in view: nothing read
        digits = []
        for b in (Box(b.x + shift[0], b.y + shift[1], b.w, b.h) for b in self.cfg.digits):
            crop = frame[max(0, b.y) : b.y + b.h, max(0, b.x) : b.x + b.w]
            found = self.reader.recognize(crop).digits if crop.size else ()
            if found:
                d = found[0]
                digits.append(Digit(Box(b.x + d.box.x, b.y + d.box.y, d.box.w, d.box.h), d.label, d.confidence))
            else:
                digits.append(Digit(b, 0, 0.0))
        # A wheel between two digits shows two cut-off halves: read together they are taller than a
        # whole digit on the other wheels, read alone shorter. Doubtful however sure the model is.
        whole = statistics.median(d.box.h for d in digits)
        off = self.cfg.whole_height_tolerance * whole
        digits = [d if abs(d.box.h - whole) <= off else Digit(d.box, d.label, 0.0) for d in digits]
        text = "".join(str(d.label) for d in digits)
        return Recognition(width, height, tuple(digits), (text,))

    def _shift(self, frame: np.ndarray) -> tuple[int, int] | None:
        """How far the reference mark has moved since the first frame (0, 0 without one), or
        None when it is not found within `search` px."""
        ref = self.cfg.reference
        if ref is None:
            return 0, 0
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if self.template is None:
            self.template = gray[ref.y : ref.y + ref.h, ref.x : ref.x + ref.w].copy()
            return 0, 0
        s = self.cfg.search
        x0, y0 = max(0, ref.x - s), max(0, ref.y - s)
        area = gray[y0 : ref.y + ref.h + s, x0 : ref.x + ref.w + s]
        if area.shape[0] < ref.h or area.shape[1] < ref.w:
            return None
        scores = cv2.matchTemplate(area, self.template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (x, y) = cv2.minMaxLoc(scores)
        if best < self.cfg.min_match:
            return None
        return x0 + x - ref.x, y0 + y - ref.y

    def update(self, lines: Sequence[str], confidences: Sequence[float] | None = None) -> tuple[str, ...]:
        """One frame's wheels -> the value to publish (`lines`), with `raw` and `error` set."""
        with self.lock:
            return self._update(lines, confidences)

    def _update(self, lines: Sequence[str], confidences: Sequence[float] | None) -> tuple[str, ...]:
        now = time.time()
        text = lines[0] if lines else ""
        sure = [c >= self.cfg.min_confidence for c in (confidences or [1.0] * len(text))]
        self.raw = "".join(ch if ok else "?" for ch, ok in zip(text, sure))
        self.error = None
        if len(text) != len(self.cfg.digits):
            self.error = "wheels not read" if self.cfg.reference is None or text else "reference mark not found"
            return self.lines
        digits = self._fill([int(ch) if ok else None for ch, ok in zip(text, sure)])
        if digits is None:
            self.error = f"wheels rolling ({self.raw}): held until they settle"
            return self.lines
        value = Decimal("".join(map(str, digits))).scaleb(-self.cfg.decimals)
        self.error = self._implausible(value, now)
        if self.error is None:
            self._accept(value, now)
        return self.lines

    def _fill(self, read: list[int | None]) -> list[int] | None:
        """Half-rolled wheels settled from the previous reading, right to left; None when they
        cannot be: no previous reading, or a wheel left of a half-rolled one has moved since
        (the carry is under way, and which side of it the count is on is not known)."""
        if all(d is not None for d in read):
            return [d for d in read if d is not None]
        if self.digits is None:
            return None
        first = read.index(None)
        if any(read[j] != self.digits[j] for j in range(first)):
            return None
        out: list[int] = [0] * len(read)
        for i in reversed(range(len(read))):
            d = read[i]
            if d is None:
                d = self.digits[i]
                if i + 1 < len(read) and out[i + 1] < self.digits[i + 1]:
                    d = (d + 1) % 10  # the wheel to its right wrapped past 0: this one moved on
            out[i] = d
        return out

    def _implausible(self, value: Decimal, now: float) -> str | None:
        """Why `value` cannot follow the previous one, or None."""
        if self.value is None:
            return None
        change = value - self.value
        if change < 0 and not self.cfg.allow_decrease:
            return f"value fell from {self.value} to {value} (a meter only counts up)"
        minutes = max(now - self.value_time, 1.0) / 60
        for limit, per, span in ((self.cfg.max_rate_per_minute, "minute", 1), (self.cfg.max_rate_per_hour, "hour", 60)):
            if limit is not None and abs(change) > Decimal(str(limit)) * Decimal(str(minutes / span)):
                return f"value rose from {self.value} to {value} in {minutes:.1f} min, over {limit} per {per}"
        return None

    def set_prevalue(self, text: str) -> None:
        """A person's correction of the previous value (MQTT `ctrl/set_prevalue`); MeterError
        for anything that is not a number."""
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise MeterError(f"set_prevalue: {text!r} is not a number") from None
        if not value.is_finite() or value < 0:
            raise MeterError(f"set_prevalue: {text!r} is not a meter value")
        with self.lock:
            self._accept(value, time.time())
        log.info("meter: previous value set to %s", self.lines[0])

    def _accept(self, value: Decimal, now: float, persist: bool = True) -> None:
        n = len(self.cfg.digits)
        whole = int(value.scaleb(self.cfg.decimals).to_integral_value())
        self.value, self.value_time = value.quantize(Decimal(1).scaleb(-self.cfg.decimals)), now
        self.digits = tuple(int(ch) for ch in str(whole).zfill(n)[-n:])
        self.lines = (str(self.value),)
        if persist and self.cfg.state_file:
            tmp = self.cfg.state_file.with_name(f".{self.cfg.state_file.name}.tmp")
            tmp.write_text(json.dumps({"value": str(self.value), "time": now}) + "\n")
            os.replace(tmp, self.cfg.state_file)

    def state(self) -> dict[str, Any]:
        """What `/api/value` and MQTT's json say."""
        return {"value": self.lines[0] if self.lines else None, "raw": self.raw, "error": self.error or "no error"}
