"""Score a recognizer on real photos with truth: the measure of quality that counts.

A folder holds `images/` and `truth.jsonl` (one object per image: `file`, `lines` top to
bottom, `notes`, `group`). Each image is scored on its lines alone, so any reader that
returns lines of digits (ours, the classic OpenCV recipe, Tesseract) is scored alike:

- digit recall / precision: the longest common subsequence of the joined digit strings,
  over the truth's length or the prediction's length;
- exact: the predicted lines equal the true lines as a multiset.

Images of one `group` (photos of the same sheet) count once: their mean is one vote.
Photos (`kind` photo) whose notes say ROTATED are the rotated set; the other photos are
the upright set; other kinds (a canvas export) are scored apart.

    python -m digitedge.train.photos ../shared/datasets/real-dev [--rotate auto] [--show]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digitedge.edge.exits import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from digitedge.edge.recognize import Recognizer


@dataclass(frozen=True)
class Photo:
    """One real photo and what is written on it."""

    path: Path
    lines: tuple[str, ...]
    group: str
    rotated: bool
    kind: str = "photo"  # photo, or canvas (a drawing app's export), scan...


@dataclass(frozen=True)
class PhotoScore:
    """How well one photo was read."""

    photo: Photo
    predicted: tuple[str, ...]
    common: int  # digits in the longest common subsequence

    @property
    def truth_digits(self) -> int:
        return sum(map(len, self.photo.lines))

    @property
    def predicted_digits(self) -> int:
        return sum(map(len, self.predicted))

    @property
    def recall(self) -> float:
        return self.common / max(self.truth_digits, 1)

    @property
    def precision(self) -> float:
        return self.common / self.predicted_digits if self.predicted_digits else float(self.truth_digits == 0)

    @property
    def exact(self) -> bool:
        return Counter(self.predicted) == Counter(self.photo.lines)


def load(folder: Path) -> list[Photo]:
    """The photos of a folder with `truth.jsonl`; FileNotFoundError names what is missing."""
    truth = Path(folder) / "truth.jsonl"
    photos = []
    for n, line in enumerate(truth.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            photos.append(
                Photo(
                    Path(folder) / "images" / row["file"],
                    tuple(row["lines"]),
                    row.get("group") or row["file"],
                    "ROTATED" in (row.get("notes") or ""),
                    row.get("kind", "photo"),
                )
            )
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{truth}:{n}: bad truth row ({exc})") from None
    return photos


def lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence of two strings."""
    row = [0] * (len(b) + 1)
    for ch in a:
        prev = 0
        for j, other in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if ch == other else max(row[j], row[j - 1])
    return row[-1]


def score_photo(photo: Photo, predicted: Iterable[str]) -> PhotoScore:
    """Score one photo's predicted lines against its truth."""
    predicted = tuple(predicted)
    return PhotoScore(photo, predicted, lcs("".join(photo.lines), "".join(predicted)))


def summarize(scores: list[PhotoScore]) -> dict[str, float]:
    """Recall, precision, F1 and exact share: the mean over sheets of the mean over each
    sheet's photos (a group counts once). A photo read as nothing has no precision: it is
    left out of that mean (its recall, 0, counts)."""
    groups: dict[str, list[PhotoScore]] = defaultdict(list)
    for s in scores:
        groups[s.photo.group].append(s)

    def mean(f: Callable[[PhotoScore], float], keep: Callable[[PhotoScore], bool] = lambda s: True) -> float:
        kept = [[f(s) for s in g if keep(s)] for g in groups.values()]
        per_group = [sum(v) / len(v) for v in kept if v]
        return sum(per_group) / len(per_group) if per_group else 1.0

    recall, precision = mean(lambda s: s.recall), mean(lambda s: s.precision, lambda s: s.predicted_digits > 0)
    return {
        "photos": len(scores),
        "groups": len(groups),
        "recall": recall,
        "precision": precision,
        "f1": 2 * recall * precision / max(recall + precision, 1e-9),
        "exact": mean(lambda s: float(s.exact)),
    }


def evaluate(read: Callable[[Path], Iterable[str]], photos: list[Photo]) -> tuple[dict[str, float], list[PhotoScore]]:
    """Read every photo with `read(path) -> lines` and summarize."""
    scores = [score_photo(p, read(p.path)) for p in photos]
    return summarize(scores), scores


def _read(recognizer: Recognizer, options: dict[str, Any], path: Path) -> tuple[str, ...]:
    """The lines `recognizer` reads in the image at `path`, with `options` for `recognize`."""
    from digitedge.edge.images import read_image

    return recognizer.recognize(read_image(path), **options).lines


def main(argv: list[str] | None = None) -> int:
    """Print real-photo figures of `digitedge classify`'s defaults as JSON lines."""
    p = argparse.ArgumentParser(prog="python -m digitedge.train.photos", description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="a folder with images/ and truth.jsonl")
    p.add_argument("--model", help="int8 model (default: the bundled one)")
    p.add_argument("--show", action="store_true", help="also print each photo's reading (stderr)")
    args = p.parse_args(argv)
    from digitedge.edge.recognize import Recognizer

    try:
        photos = load(args.folder)
    except (OSError, ValueError) as exc:
        print(f"photos: {exc}", file=sys.stderr)
        return EXIT_USAGE
    recognizer = Recognizer(args.model)
    for name, chosen, options in (
        ("upright photos", [p for p in photos if not p.rotated and p.kind == "photo"], {}),
        ("rotated photos, rotate=auto", [p for p in photos if p.rotated and p.kind == "photo"], {"rotate": "auto"}),
        ("not photos", [p for p in photos if p.kind != "photo"], {}),
    ):
        figures, scores = evaluate(functools.partial(_read, recognizer, options), chosen)
        print(json.dumps({"set": name, **{k: round(v, 4) for k, v in figures.items()}}))
        if args.show:
            for s in scores:
                print(
                    f"{s.photo.path.name}: recall {s.recall:.2f} precision {s.precision:.2f} "
                    f"{'EXACT' if s.exact else ''}\n  truth {' '.join(s.photo.lines)}\n  read  {' '.join(s.predicted)}",
                    file=sys.stderr,
                )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
