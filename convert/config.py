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


@dataclass
class FinetuneConfig:
    """Everything that decides a fine-tune on a user's labelled crops, and its gates."""

    crops: Path
    out: Path
    model: Path | None = None  # the parent int8 model (default: the bundled one)
    data: str | None = None  # MNIST, replayed so nothing else is forgotten
    usps: str | None = None  # USPS .npz: USPS test measured before and after
    replay_usps: bool = False  # USPS train replayed too (for a parent trained on it)
    epochs: int = 3
    qat_epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 3e-4
    qat_learning_rate: float = 1e-4
    replay: int = 6000  # replayed digits per epoch, half of them camera-like
    negatives: float = 0.15  # synthetic non-digits per replayed digit (the parent's recipe)
    repeat: int = 8  # each user crop is seen this many times an epoch, shifted by up to 2 px
    held_out: float = 0.2  # share of the user's crops kept aside for the third gate
    calibration: int = 500
    max_mnist_drop_pp: float = 0.1  # gate 1: MNIST test, device rule
    max_false_accept_rise_pp: float = 0.5  # gate 2: held-out non-digits accepted as digits
    seed: int = 0
    limit_train: int | None = None
    limit_test: int | None = None
    command: str = ""
