"""Float weights of an int8 model, read back from the .tflite itself.

`finetune` starts from the model a user runs, which may be the bundled one, whose training
run is not shipped (and whose recipe needs Fashion-MNIST to rerun). Its weights are in the
.tflite: int8 with a scale per output channel, batch norm already folded into each conv.
Dequantized, they go into the network as the device runs it: a `-bn` network without its
batch norms (`wide-bn` is `wide` once folded: convs with biases), so fine-tuning has no batch
statistics to relearn, and `convert`'s QAT and export make the same int8 graph. These weights
are the ones QAT settled on, so the float network agrees with the int8 model on nearly every
input (checked by the caller).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from digitedge.edge.metadata import ModelError
from digitedge.train import nets
from digitedge.train.backend import keras

L = keras.layers
WEIGHTED = ("CONV_2D", "FULLY_CONNECTED")


def _interpreter(path: Path) -> Any:
    """An interpreter with no delegate, so every op and constant tensor stays readable."""
    from digitedge.train.backend import tf

    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        interpreter = Interpreter(
            model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        )
    except ImportError:
        interpreter = tf.lite.Interpreter(
            model_path=str(path),
            experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
    interpreter.allocate_tensors()
    return interpreter


def dequantized(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of each conv and dense op in order, in Keras' layouts, as floats."""
    interpreter = _interpreter(path)
    details = {t["index"]: t for t in interpreter.get_tensor_details()}

    def value(index: int) -> np.ndarray:
        q = interpreter.get_tensor(index).astype(np.float32)
        p = details[index]["quantization_parameters"]
        scales, zeros, axis = p["scales"], p["zero_points"], p["quantized_dimension"]
        if len(scales) == 0:
            return q
        shape = [1] * q.ndim
        shape[axis] = -1
        return (q - zeros.reshape(shape)) * scales.reshape(shape)

    out = []
    for op in interpreter._get_ops_details():  # noqa: SLF001 - the public API lists no ops
        if op["op_name"] in WEIGHTED:
            kernel, bias = value(op["inputs"][1]), value(op["inputs"][2])
            # TFLite: conv OHWI, dense (out, in); Keras: conv HWIO, dense (in, out)
            out.append((kernel.transpose(1, 2, 3, 0) if op["op_name"] == "CONV_2D" else kernel.T, bias))
    return out


def folded(arch: str) -> str:
    """The network `arch` is on the device, batch norms folded into the convs."""
    return arch.removesuffix("-bn")


def float_model(path: Path, arch: str, classes: int) -> Any:
    """The folded network of `arch` (logits out) holding the dequantized weights of `path`;
    ModelError when the two do not fit."""
    model = nets.to_logits(nets.build(folded(arch), classes))
    weights = iter(dequantized(path))
    try:
        for layer in model.layers:
            if isinstance(layer, L.Conv2D | L.Dense):
                layer.set_weights(list(next(weights)))
        if next(weights, None) is not None:
            raise ValueError("the model has more weighted layers than the network")
    except (StopIteration, ValueError) as exc:
        raise ModelError(f"{path}: its weights do not fit the {arch!r} network ({exc or 'fewer layers'})") from None
    return model
