"""Pictures of a training run: learning curves and the confusion matrix, as PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def confusion_matrix(truth: np.ndarray, pred: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[t, p] = how many images of class t were predicted as p."""
    counts = np.zeros((classes, classes), np.int64)
    np.add.at(counts, (truth.astype(np.int64), pred.astype(np.int64)), 1)
    return counts


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history: dict[str, list[float]], path: Path, title: str) -> None:
    """Loss and accuracy per epoch, training and validation side by side."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, style in ((metric, "-o"), (f"val_{metric}", "--o")):
            if key in history:
                ax.plot(range(1, len(history[key]) + 1), history[key], style, label=key, markersize=3)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(counts: np.ndarray, path: Path, title: str) -> None:
    """Confusion matrix with counts in each cell; the diagonal is what went right."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 6))
    shown = np.log1p(counts)
    ax.imshow(shown, cmap="Blues")
    for t in range(counts.shape[0]):
        for p in range(counts.shape[1]):
            if counts[t, p]:
                dark = shown[t, p] > shown.max() * 0.6
                ax.text(
                    p, t, str(counts[t, p]), ha="center", va="center", fontsize=8, color="white" if dark else "black"
                )
    ax.set_xticks(range(counts.shape[1]))
    ax.set_yticks(range(counts.shape[0]))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
