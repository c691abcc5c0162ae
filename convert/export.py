"""Quantization-aware fine-tuning, then export to a full-integer int8 TFLite model.

The exported model takes uint8 28x28x1 bytes exactly as `edge.preprocess.prepare` makes them
(input scale 1/255, zero point 0), so the device feeds them without any float conversion;
its output is int8 probabilities that the runtime dequantizes with the model's own scale.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from edge.preprocess import to_float
from train.backend import keras, tf, tfmot
from train.data import Prepared
from train.fit import compile_model


def quantize_aware(model: keras.Model, data: Prepared, epochs: int, batch_size: int, learning_rate: float) -> keras.Model:
    """Wrap `model` with fake-quant nodes and fine-tune so it learns int8 rounding."""
    qat = tfmot().quantization.keras.quantize_model(model)
    compile_model(qat, learning_rate)
    if epochs > 0:
        with contextlib.redirect_stdout(sys.stderr):
            qat.fit(
                to_float(data.x_train), data.y_train, epochs=epochs, batch_size=batch_size,
                verbose=1 if sys.stderr.isatty() else 2,
            )
    return qat


def to_int8_tflite(model: keras.Model, calibration: np.ndarray) -> bytes:
    """Full-integer export: uint8 input, int8 ops, int8 output, calibrated on prepared inputs."""

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
