"""The TFLite interpreter: which backend, how to build it, how to run a batch.

The backend is chosen once, at import: ai-edge-litert, then tflite-runtime, then
TensorFlow's tf.lite (only if nothing lighter is installed). `DIGITEDGE_BACKEND` forces one.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from digitedge.edge.preprocess import INPUT_SCALE, to_float

BACKEND_MODULES = {
    "ai-edge-litert": "ai_edge_litert.interpreter",
    "tflite-runtime": "tflite_runtime.interpreter",
    "tensorflow": "tensorflow.lite",
}


def _pick_backend() -> tuple[str | None, Any]:
    wanted = os.environ.get("DIGITEDGE_BACKEND")
    if wanted and wanted not in BACKEND_MODULES:
        raise ValueError(f"DIGITEDGE_BACKEND={wanted!r}, expected one of {sorted(BACKEND_MODULES)}")
    for name in [wanted] if wanted else list(BACKEND_MODULES):
        try:
            module = importlib.import_module(BACKEND_MODULES[name])
        except ImportError:
            continue
        return name, module.Interpreter
    return None, None


BACKEND, _Interpreter = _pick_backend()


class BackendMissing(RuntimeError):
    """No TFLite interpreter package is installed."""


def make_interpreter(model_path: str | Path, num_threads: int = 1) -> Any:
    """Build an interpreter for a .tflite file; the only place a backend is instantiated."""
    if _Interpreter is None:
        raise BackendMissing("no TFLite interpreter found: pip install ai-edge-litert (or tflite-runtime)")
    path = Path(model_path)
    try:
        interpreter = _Interpreter(model_path=str(path), num_threads=num_threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"{path}: not a loadable TFLite model ({exc})") from None
    return interpreter


def run_batch(interpreter: Any, batch: np.ndarray) -> np.ndarray:
    """Run a (N, ...) input batch in one call; return float outputs (N, classes).

    Input is quantized and output dequantized with the scale/zero-point the model states.
    """
    inp = interpreter.get_input_details()[0]
    if batch.shape[1:] != tuple(inp["shape"][1:]):
        raise ValueError(f"input shape={batch.shape[1:]}, expected={tuple(inp['shape'][1:])}")
    if tuple(inp["shape"]) != batch.shape:
        interpreter.resize_tensor_input(inp["index"], batch.shape)
        interpreter.allocate_tensors()
        inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], _quantize(batch, inp))
    interpreter.invoke()
    out = interpreter.get_output_details()[0]
    q = interpreter.get_tensor(out["index"])
    scale, zero = out["quantization"]
    real: np.ndarray = scale * (q.astype(np.float32) - zero) if scale else q.astype(np.float32)
    return real


def _quantize(batch: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Bytes (0..255 pixel values) -> the model's input dtype and scale."""
    dtype = detail["dtype"]
    scale, zero = detail["quantization"]
    if dtype == np.uint8 and batch.dtype == np.uint8 and zero == 0 and abs(scale / INPUT_SCALE - 1) < 1e-3:
        return batch  # the model takes bytes as they are: no conversion at all
    real = to_float(batch)
    if not scale:
        return real.astype(dtype)
    info = np.iinfo(dtype)
    quantized: np.ndarray = np.clip(np.round(real / scale + zero), info.min, info.max).astype(dtype)
    return quantized
