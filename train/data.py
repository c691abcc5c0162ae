"""MNIST (and optionally USPS, a second population of writers), checked before training.

Where MNIST comes from, in order: `--data PATH`, the `DIGITEDGE_MNIST` environment
variable, `../shared/datasets/mnist.npz` (from the current folder), Keras' cache
(`~/.keras/datasets/mnist.npz`), then Keras' own download into that cache, once. PATH is an
.npz with Keras' keys or a folder holding the four IDX files (gzipped or not). USPS is an .npz with `x`
(16x16 uint8, bright ink on dark), `y` and `split` ("train"/"test").
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitedge.edge.preprocess import prepare_batch

ENV_VAR = "DIGITEDGE_MNIST"
KEYS = ("x_train", "y_train", "x_test", "y_test")
_IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


class DataError(ValueError):
    """The data file or folder is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Mnist:
    """The four MNIST arrays and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def sha256(self) -> str:
        """Hash of the arrays themselves, the same whatever file format carried them."""
        h = hashlib.sha256()
        for key in KEYS:
            h.update(np.ascontiguousarray(getattr(self, key)).tobytes())
        return h.hexdigest()


SHARED_COPY = Path("../shared/datasets/mnist.npz")


def keras_cache() -> Path:
    """Where Keras' own download keeps MNIST."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"


def find_mnist() -> Path:
    """The MNIST file to use when none is named: $DIGITEDGE_MNIST (used as given, so a wrong
    value is reported, not passed over), the shared copy, Keras' cache; else Keras downloads
    it into its cache. DataError with every place looked at when all of that fails."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    for path in (SHARED_COPY, keras_cache()):
        if path.is_file():
            return path
    try:
        from digitedge.train.backend import keras

        keras.datasets.mnist.load_data()
    except Exception as exc:  # ImportError without the train extra, URLError offline, ...
        raise DataError(
            f"MNIST not found: ${ENV_VAR} is unset, neither {SHARED_COPY} (from {Path.cwd()}) nor {keras_cache()} "
            f"exists, and Keras' download failed ({type(exc).__name__}: {exc}). Give --data PATH (an .npz with "
            f"Keras' keys, or a folder of the four IDX files) or set ${ENV_VAR}."
        ) from None
    if not keras_cache().is_file():
        raise DataError(f"Keras downloaded MNIST, but not to {keras_cache()}: give --data PATH or set ${ENV_VAR}")
    return keras_cache()


def load_mnist(path: str | Path | None = None) -> Mnist:
    """Load and validate MNIST from `path`, else from where `find_mnist` finds it."""
    p = Path(path) if path else find_mnist()
    if p.is_dir():
        arrays = {key: _read_idx(_find_idx(p, name)) for key, name in _IDX_NAMES.items()}
    elif p.is_file():
        arrays = _read_npz(p)
    else:
        raise DataError(f"{p}: no such file or folder")
    return _validate(arrays, str(p))


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing keys {missing}, expected {list(KEYS)}")
            return {k: npz[k] for k in KEYS}
    except DataError:
        raise
    except Exception as exc:  # zipfile, pickle, OSError, EOF...: all mean "not a valid npz"
        raise DataError(f"{path}: not a readable .npz ({type(exc).__name__}: {exc})") from None


def _find_idx(folder: Path, name: str) -> Path:
    for candidate in (name, name + ".gz", name.replace("-idx", ".idx"), name.replace("-idx", ".idx") + ".gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    raise DataError(f"{folder}: missing IDX file {name}[.gz]")


def _read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (magic 0x00 0x00 0x08 ndim, big-endian sizes, uint8 data)."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DataError(f"{path}: IDX header says {shape} ({size} bytes), file holds {len(raw) - header}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _validate(a: dict[str, np.ndarray], source: str) -> Mnist:
    for split in ("train", "test"):
        x, y = a[f"x_{split}"], a[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{source}: x_{split} must be uint8 (N, 28, 28), got {x.dtype} {x.shape}")
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{source}: y_{split} must be {len(x)} integer labels, got {y.dtype} {y.shape}")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DataError(f"{source}: y_{split} labels must be 0..9, found {y.min()}..{y.max()}")
        if len(x) == 0:
            raise DataError(f"{source}: x_{split} is empty")
    return Mnist(a["x_train"], a["y_train"].astype(np.uint8), a["x_test"], a["y_test"].astype(np.uint8), source)


@dataclass(frozen=True)
class Usps:
    """USPS digits in MNIST's convention (28x28, the digit in the central 20x20 box)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def load_usps(path: str | Path) -> Usps:
    """Load and validate a USPS .npz (x 16x16 uint8, y, split) and lay it out as MNIST is."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    try:
        with np.load(p, allow_pickle=False) as npz:
            x, y, split = npz["x"], npz["y"], npz["split"].astype(str)
    except Exception as exc:
        raise DataError(f"{p}: not a USPS .npz with x, y and split ({type(exc).__name__}: {exc})") from None
    if x.dtype != np.uint8 or x.ndim != 3 or len(y) != len(x) or len(split) != len(x):
        raise DataError(f"{p}: x must be uint8 (N, H, W) with one y and one split each, got {x.dtype} {x.shape}")
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{p}: labels must be 0..9, found {y.min()}..{y.max()}")
    train, test = split == "train", split == "test"
    if not train.any() or not test.any():
        raise DataError(f"{p}: split must hold both 'train' and 'test' rows")
    x28 = as_mnist(x)
    return Usps(x28[train], y[train].astype(np.uint8), x28[test], y[test].astype(np.uint8), str(p))


def as_mnist(x: np.ndarray) -> np.ndarray:
    """Digits that fill their frame (USPS' 16x16) -> MNIST's layout: scaled to 20x20, in a
    28x28 canvas, so augmentation warps them as it warps MNIST's."""
    out = np.zeros((len(x), 28, 28), np.uint8)
    for i, img in enumerate(x):
        out[i, 4:24, 4:24] = cv2.resize(img, (20, 20), interpolation=cv2.INTER_LINEAR)
    return out


def with_usps(mnist: Mnist, usps: Usps, seed: int = 0) -> Mnist:
    """MNIST whose training images include USPS train, shuffled in (seeded) so that the
    validation images held out of the end hold both populations of writers."""
    x = np.concatenate([mnist.x_train, usps.x_train])
    y = np.concatenate([mnist.y_train, usps.y_train])
    order = np.random.default_rng(seed).permutation(len(x))
    return Mnist(x[order], y[order], mnist.x_test, mnist.y_test, f"{mnist.source} + {usps.source} (train)")


@dataclass(frozen=True)
class Prepared:
    """MNIST after edge preprocessing, split for training."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare_data(mnist: Mnist, val: int, limit_train: int | None, limit_test: int | None) -> Prepared:
    """Run every image through the device's preprocessing; hold out the last `val` train images."""
    x, y = mnist.x_train[:limit_train], mnist.y_train[:limit_train]
    val = min(val, len(x) // 5)
    xt, yt = mnist.x_test[:limit_test], mnist.y_test[:limit_test]
    xp = prepare_batch(x)
    return Prepared(xp[: len(x) - val], y[: len(x) - val], xp[len(x) - val :], y[len(x) - val :], prepare_batch(xt), yt)
