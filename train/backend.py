"""The one door to TensorFlow and Keras 2 for `train` and `convert`.

tensorflow-model-optimization needs Keras 2 (the `tf_keras` package), selected by
TF_USE_LEGACY_KERAS=1 before TensorFlow is first imported. Importing tf and keras from here
makes that choice for the user, every time.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter off stderr

if "tensorflow" in sys.modules and os.environ["TF_USE_LEGACY_KERAS"] != "1":
    raise RuntimeError("TF_USE_LEGACY_KERAS must be 1 for digitedge training (Keras 2 / tf_keras)")

try:
    import tensorflow as tf
    import tf_keras as keras
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(f"training needs the [train] extra: pip install 'digitedge[train]' ({exc})") from None

__all__ = ["tf", "keras", "tfmot"]


def tfmot():
    """tensorflow-model-optimization, imported only by the code that quantizes."""
    import tensorflow_model_optimization as mot

    return mot
