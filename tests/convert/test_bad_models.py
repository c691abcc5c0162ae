"""Models the device must refuse with one line naming the problem: float where int8 is
expected, a wrong input shape. (TensorFlow makes the bad models; the checks are edge's.)"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import pytest

from tests.conftest import CLI

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from digitedge.edge.metadata import ModelMetadata, metadata_path, write_metadata  # noqa: E402
from digitedge.edge.model import DEFAULT_MODEL, Classifier, ModelError  # noqa: E402
from digitedge.train.backend import keras, tf  # noqa: E402


def _tflite(tmp_path, name, shape):
    model = keras.Sequential(
        [keras.layers.InputLayer(input_shape=shape), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    shutil.copy(metadata_path(DEFAULT_MODEL), metadata_path(path))  # metadata that claims all is well
    meta = ModelMetadata.from_json(json.loads(metadata_path(path).read_text()))
    # ten outputs, no not-a-digit one, so no threshold for it; tied to this model file
    write_metadata(path, replace(meta, labels=tuple(range(10)), none_threshold=None))
    return path


@pytest.mark.parametrize(
    "name, shape, message",
    [
        ("float", (28, 28, 1), r"model input is \[28, 28, 1\] float32, expected \[28, 28, 1\] uint8"),
        ("shape", (32, 32, 1), r"model input is \[32, 32, 1\] float32"),
    ],
)
def test_refused_with_a_clear_message(tmp_path, name, shape, message):
    path = _tflite(tmp_path, name, shape)
    with pytest.raises(ModelError, match=message):
        Classifier(path)
    res = subprocess.run(
        [
            *CLI,
            "classify",
            str(DEFAULT_MODEL.parents[2] / "samples"),
            "--model",
            str(path),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert [line for line in res.stderr.splitlines() if line.startswith("digitedge")] == [
        line for line in res.stderr.splitlines() if "model input" in line
    ]
