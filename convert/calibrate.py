"""Confidence that means something: temperature scaling fitted on held-out data, and the
expected calibration error (ECE) that says how far confidence is from accuracy."""

from __future__ import annotations

import numpy as np

from edge.model import apply_temperature


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-1 confidence, in equal-width bins."""
    conf = probs.max(axis=1)
    right = probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return float(total)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimizing negative log-likelihood, by a fine grid (robust to the
    coarse steps of int8 probabilities, where gradients are useless)."""
    grid = np.round(np.arange(0.5, 4.001, 0.05), 2)
    floor = 1.0 / 512  # int8 outputs round small probabilities to zero

    def nll(t: float) -> float:
        p = apply_temperature(probs, float(t))[np.arange(len(labels)), labels]
        return float(-np.log(np.maximum(p, floor)).mean())

    return float(min(grid, key=nll))
