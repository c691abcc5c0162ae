"""What decides a training run, with its defaults: light to import, so `digitedge train
--help` shows them without loading TensorFlow."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

# a third of the augmented 4s, 7s and 9s get a stem SHORTEST_TAIL to LONGEST_TAIL times as long
SHORTEST_TAIL, LONGEST_TAIL = 1.3, 3.0


@dataclass(frozen=True)
class Recipe:
    """The training defaults that go with an architecture (train/nets.py builds it)."""

    augment: bool
    negatives: float  # not-a-digit samples per digit sample
    epochs: int
    batch_size: int


RECIPES: dict[str, Recipe] = {
    "seed": Recipe(augment=False, negatives=0.0, epochs=20, batch_size=32),
    "edge": Recipe(augment=True, negatives=0.15, epochs=15, batch_size=64),
    "wide": Recipe(augment=True, negatives=0.25, epochs=20, batch_size=64),
    "wide-bn": Recipe(augment=True, negatives=0.25, epochs=40, batch_size=64),
}


def recipe(arch: str) -> Recipe:
    """The named architecture's training defaults; ValueError lists the choices."""
    try:
        return RECIPES[arch]
    except KeyError:
        raise ValueError(f"unknown --arch {arch!r}, choose from {sorted(RECIPES)}") from None


@dataclass
class TrainConfig:
    """Everything that decides a training run. None means: the architecture's default."""

    out: Path
    data: str | None = None
    arch: str = "wide-bn"
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float = 1e-3
    augment: bool | None = None
    negatives: float | None = None
    fashion: str | None = None  # Fashion-MNIST IDX folder, extra real negatives
    usps: str | None = None  # USPS .npz: its train digits join MNIST's, its test is reported
    longest_tail: float = LONGEST_TAIL
    seed: int = 0
    val: int = 5000  # images held out of x_train for the curves
    limit_train: int | None = None  # tiny runs for tests
    limit_test: int | None = None
    command: str = ""

    def resolved(self) -> TrainConfig:
        """Fill the architecture's defaults in."""
        r = recipe(self.arch)
        cfg = TrainConfig(**asdict(self))
        cfg.epochs = r.epochs if cfg.epochs is None else cfg.epochs
        cfg.batch_size = r.batch_size if cfg.batch_size is None else cfg.batch_size
        cfg.augment = r.augment if cfg.augment is None else cfg.augment
        cfg.negatives = r.negatives if cfg.negatives is None else cfg.negatives
        if not cfg.longest_tail >= SHORTEST_TAIL:  # (NaN too)
            raise ValueError(f"--longest-tail {cfg.longest_tail}: at least {SHORTEST_TAIL} (the shortest tail drawn)")
        return cfg
