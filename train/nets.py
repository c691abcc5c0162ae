"""Network architectures, by name. `seed` is the reference network every model is compared with."""

from __future__ import annotations

from collections.abc import Callable

from digitedge.train.backend import keras
from digitedge.train.config import recipe

L = keras.layers


def seed(classes: int = 10) -> keras.Model:
    """The reference network from the original notebook, exactly."""
    return keras.Sequential(
        [
            L.InputLayer(input_shape=(28, 28, 1)),
            L.Conv2D(16, 3, activation="relu", padding="same"),
            L.MaxPool2D(padding="same"),
            L.Conv2D(16, 3, activation="relu", padding="same"),
            L.MaxPool2D(padding="same"),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dense(128, activation="relu"),
            L.Dense(classes, activation="softmax"),
        ],
        name="seed",
    )


def edge(classes: int = 11) -> keras.Model:
    """Three conv stages (16-32-64) and a small head; ~2 M MACs, ~70 KB as int8.
    A third stage sees whole strokes, which robustness and the not-a-digit class need."""
    return keras.Sequential(
        [
            L.InputLayer(input_shape=(28, 28, 1)),
            L.Conv2D(16, 3, activation="relu", padding="same"),
            L.MaxPool2D(),
            L.Conv2D(32, 3, activation="relu", padding="same"),
            L.MaxPool2D(),
            L.Conv2D(64, 3, activation="relu", padding="same"),
            L.MaxPool2D(),
            L.Flatten(),
            L.Dense(64, activation="relu"),
            L.Dropout(0.3),
            L.Dense(classes, activation="softmax"),
        ],
        name="edge",
    )


def _conv(filters: int) -> list:
    return [L.Conv2D(filters, 3, activation="relu", padding="same")]


def _conv_bn(filters: int) -> list:
    """Conv without bias, batch norm, ReLU: the pattern int8 export folds into one conv."""
    return [L.Conv2D(filters, 3, padding="same", use_bias=False), L.BatchNormalization(), L.ReLU()]


def _wide(classes: int, conv: Callable[[int], list], name: str) -> keras.Model:
    """Conv stages 16 / 32-32 / 64-64, each closed by a pooling, and a 96-unit head."""
    return keras.Sequential(
        [
            L.InputLayer(input_shape=(28, 28, 1)),
            *conv(16),
            L.MaxPool2D(),
            *conv(32),
            *conv(32),
            L.MaxPool2D(),
            *conv(64),
            *conv(64),
            L.MaxPool2D(),
            L.Flatten(),
            L.Dense(96, activation="relu"),
            L.Dropout(0.3),
            L.Dense(classes, activation="softmax"),
        ],
        name=name,
    )


def wide(classes: int = 11) -> keras.Model:
    """`edge` with a second conv in the middle and last stages (16-32-32-64-64): ~5.6 M MACs,
    for more accuracy and a sharper not-a-digit boundary."""
    return _wide(classes, _conv, "wide")


def wide_bn(classes: int = 11) -> keras.Model:
    """`wide` with batch norm after every conv (folded away at export, so the same size and
    MACs on the device): steadier training that reaches higher MNIST accuracy. The default."""
    return _wide(classes, _conv_bn, "wide_bn")


# The networks by --arch name; their training defaults are in train/config.py's RECIPES.
BUILDERS: dict[str, Callable[[int], keras.Model]] = {"seed": seed, "edge": edge, "wide": wide, "wide-bn": wide_bn}


def build(arch: str, classes: int) -> keras.Model:
    """The named network with `classes` outputs; ValueError lists the choices."""
    recipe(arch)  # the one place an unknown name is reported
    return BUILDERS[arch](classes)


def to_logits(model: keras.Model) -> keras.Model:
    """The same network and weights without the final softmax (argmax is unchanged), for
    export: the device then gets logits it can calibrate."""
    config = model.get_config()
    config["layers"][-1]["config"]["activation"] = "linear"
    clone = keras.Sequential.from_config(config)
    clone.set_weights(model.get_weights())
    return clone


def macs(model: keras.Model) -> int:
    """Multiply-accumulates per input image for the conv and dense layers (what int8 kernels do)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, L.Conv2D):
            _, h, w, c_out = layer.output_shape
            kh, kw = layer.kernel_size
            total += h * w * c_out * kh * kw * layer.input_shape[-1]
        elif isinstance(layer, L.Dense):
            total += layer.input_shape[-1] * layer.units
    return int(total)
