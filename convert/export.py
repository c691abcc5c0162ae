"""Quantization-aware fine-tuning, then export to a full-integer int8 TFLite model.

The exported model takes uint8 28x28x1 bytes exactly as `edge.preprocess.prepare` makes them
(input scale 1/255, zero point 0), so the device feeds them without any float conversion;
its output is int8 logits that the runtime dequantizes with the model's own scale, then turns
into probabilities with the calibrated temperature in the model's metadata.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable

import numpy as np

from digitedge.edge.preprocess import to_float
from digitedge.train.backend import keras, tf, tfmot
from digitedge.train.fit import compile_model


def quantize_aware(
    model: keras.Model, epochs: Iterable[tuple[np.ndarray, np.ndarray]], batch_size: int, learning_rate: float
) -> keras.Model:
    """Wrap `model` (which outputs logits) with fake-quant nodes and fine-tune it, one (x, y)
    set per epoch, so the weights learn to live with int8 rounding."""
    qat = tfmot().quantization.keras.quantize_model(model)
    compile_model(qat, learning_rate, from_logits=True)
    with contextlib.redirect_stdout(sys.stderr):
        for x, y in epochs:
            qat.fit(to_float(x), y, epochs=1, batch_size=batch_size, verbose=1 if sys.stderr.isatty() else 2)
    return qat


def to_int8_tflite(model: keras.Model, calibration: np.ndarray) -> bytes:
    """Full-integer export: uint8 input, int8 ops, int8 logits out, calibrated on prepared inputs."""

    def representative():
        for i in range(len(calibration)):
            yield [to_float(calibration[i : i + 1])]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.int8
    return converter.convert()
