"""What decides a conversion, with its defaults: light to import, so `digitedge convert
--help` shows them without loading TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class ConvertConfig:
    """Everything that decides a conversion."""

    run: Path
    out: Path | None = None  # default: RUN/model_int8.tflite
    data: str | None = None
    qat_epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-4
    calibration: int = 500
    tolerance_pp: float = 0.2
    seed: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    max_false_reject: float = 0.005  # the not-a-digit threshold may reject at most this share of digits
    max_false_accept: float = 0.015  # ...to bring negatives' false accepts to this on validation (training
    # fonts); unseen fonts pass a little more often, and the goal there is 2%
    command: str = ""
