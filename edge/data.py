"""Result types of the edge runtime: small immutable records, never anonymous tuples."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in original image pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def union(self, other: Box) -> Box:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1, y1 = max(self.x + self.w, other.x + other.w), max(self.y + self.h, other.y + other.h)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]

    def scaled(self, f: float) -> Box:
        """The box in an image `f` times the size (its edges scaled, then rounded)."""
        x0, y0 = round(self.x * f), round(self.y * f)
        return Box(x0, y0, max(1, round((self.x + self.w) * f) - x0), max(1, round((self.y + self.h) * f) - y0))


@dataclass(frozen=True)
class Digit:
    """One recognized digit."""

    box: Box
    label: int
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"box": self.box.as_list(), "label": self.label, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class Doubt:
    """A mark the model was unsure of, worth a person's label: why ("low confidence", "near
    rejection", "doubted in a number"), its box, its 28x28 model input, the most probable
    digit with P(it | a digit), the label given (None: turned away) and P(not a digit)."""

    why: str
    box: Box
    input: Any  # np.ndarray, 28x28 uint8
    digit: int
    conditional_probability: float
    label: int | None
    none_probability: float


@dataclass(frozen=True)
class Recognition:
    """Everything read from one image: digits in reading order, and the lines they form;
    `doubts` are marks to collect for labelling (not part of the output row)."""

    width: int
    height: int
    digits: tuple[Digit, ...]
    lines: tuple[str, ...]
    doubts: tuple[Doubt, ...] = ()

    def scaled(self, f: float, width: int, height: int) -> Recognition:
        """The same reading of the same image `f` times the size (`width` x `height`)."""
        digits = tuple(Digit(d.box.scaled(f), d.label, d.confidence) for d in self.digits)
        doubts = tuple(dataclasses.replace(d, box=d.box.scaled(f)) for d in self.doubts)
        return Recognition(width, height, digits, self.lines, doubts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "digits": [d.to_dict() for d in self.digits],
            "lines": list(self.lines),
        }
