"""Network architectures, by name. `seed` is the reference network every model is compared with."""

from __future__ import annotations

from collections.abc import Callable

from train.backend import keras

L = keras.layers


def seed() -> keras.Model:
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
            L.Dense(10, activation="softmax"),
        ],
        name="seed",
    )


ARCHS: dict[str, Callable[[], keras.Model]] = {"seed": seed}


def build(arch: str) -> keras.Model:
    """A fresh, uncompiled model of the named architecture."""
    try:
        return ARCHS[arch]()
    except KeyError:
        raise ValueError(f"unknown --arch {arch!r}, choose from {sorted(ARCHS)}") from None
