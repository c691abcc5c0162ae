"""digitedge's device runtime: segment, classify and read handwritten digits.

Depends only on numpy, OpenCV and a TFLite interpreter; never imports TensorFlow.
From Python: `from digitedge.edge import Recognizer, read_image`. The names load on first
use, so the command line's start-up stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "Recognizer": "recognize",
    "Recognition": "data",
    "Digit": "data",
    "Box": "data",
    "read_image": "images",
    "decode_image": "images",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
