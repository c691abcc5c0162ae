"""`digitedge finetune`: float weights read back from the int8 model, a tiny fine-tune on a new
writer's doubted digits through the command line, its gates, and a gate that must fail. The
new writer is a USPS writer, so the parent is the MNIST-only model (the bundled one learnt
USPS train: its doubts there are the hard cases of a population it knows)."""

from __future__ import annotations

import json
import subprocess

import cv2
import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from digitedge.edge.metadata import read_metadata  # noqa: E402
from digitedge.edge.model import DEFAULT_MODEL, Classifier  # noqa: E402
from digitedge.edge.preprocess import prepare_batch  # noqa: E402
from tests.conftest import CLI, REPO  # noqa: E402

MNIST_ONLY = REPO / "bench" / "models" / "mnist-only.tflite"

TINY = ["--epochs", "1", "--replay", "600", "--repeat", "4", "--limit-train", "3000", "--limit-test", "600"]
# A few hundred replayed digits cannot keep MNIST to 0.1 pp: these runs test the crops' gate,
# the other two are loosened (the full gates are measured by bench/finetune.py).
LOOSE = ["--max-mnist-drop", "100", "--max-false-accept-rise", "100"]


def test_float_weights_read_back_agree_with_the_int8_model(mnist):
    from digitedge.convert.recipe import Int8
    from digitedge.convert.weights import float_model
    from digitedge.train.fit import predict

    x = prepare_batch(mnist.x_test[:2000])
    model = float_model(DEFAULT_MODEL, read_metadata(DEFAULT_MODEL).about["arch"], 11)
    assert (predict(model, x).argmax(1) == Int8(DEFAULT_MODEL).logits(x).argmax(1)).mean() >= 0.995


@pytest.fixture(scope="module")
def writer(usps, tmp_path_factory):
    """100 USPS train digits the MNIST-only model doubts most (as --collect picks them: least
    sure, whatever it read; ten of each digit), as folders 0..9 of 28x28 model inputs, and the
    same crops with their labels shuffled. The model reads 70% of them."""
    from digitedge.train.data import load_usps

    u = load_usps(usps)
    x, y = prepare_batch(u.x_train[:3000]), u.y_train[:3000]
    probs = Classifier(MNIST_ONLY).probabilities(x)
    worst = np.argsort(probs.max(axis=1))  # least sure first
    pick = np.concatenate([worst[y[worst] == d][:10] for d in range(10)])
    shuffled = np.random.default_rng(0).permutation(y[pick])
    folders = tmp_path_factory.mktemp("writer")
    for name, labels in (("right", y[pick]), ("shuffled", shuffled)):
        for i, label in zip(pick, labels):
            folder = folders / name / str(int(label))
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{i}.png"), x[i, :, :, 0])
    return folders


def _finetune(crops, out, mnist_path, *more, model=MNIST_ONLY):
    command = [*CLI, "finetune", "--crops", crops, "--model", model, "--out", out, "--data", mnist_path]
    return subprocess.run([*command, *more, *TINY, *LOOSE], capture_output=True, text=True, timeout=600)


def test_a_new_writers_doubted_digits_are_learned(writer, tmp_path, mnist_path):
    res = _finetune(writer / "right", tmp_path, mnist_path)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout)
    gain = report["gates"]["held_out_crops_gain_pp"]
    assert gain["passed"] and gain["value"] > 0
    meta = read_metadata(tmp_path / "model.tflite")  # the device loads it
    assert meta.about["parent"]["sha256"] == read_metadata(MNIST_ONLY).model_sha256
    assert len(meta.about["crops"]["sha256"]) == 64 and meta.about["crops"]["held_out"] == 20
    assert "digitedge finetune --crops" in meta.about["finetune_command"]
    Classifier(tmp_path / "model.tflite")
    doctor = subprocess.run([*CLI, "doctor", "--model", tmp_path / "model.tflite"], capture_output=True, text=True)
    assert "fine-tuned from" in doctor.stdout and doctor.returncode == 0, doctor.stdout


def test_shuffled_labels_fail_the_crops_gate_loudly(writer, tmp_path, mnist_path):
    res = _finetune(writer / "shuffled", tmp_path, mnist_path)
    assert res.returncode == 1, res.stderr[-2000:]
    assert "GATE FAILED" in res.stderr and "held_out_crops_gain_pp" in res.stderr
    assert (tmp_path / "model.tflite").exists()  # kept for inspection, and its sidecar says so
    assert read_metadata(tmp_path / "model.tflite").about["verification"]["passed"] is False


def test_a_parent_that_learnt_usps_has_it_replayed(writer, tmp_path, mnist_path, usps):
    """The bundled model learnt USPS train: given --usps, its writers are replayed without
    --replay-usps, and the child says so (so its own children replay them too)."""
    res = _finetune(writer / "right", tmp_path, mnist_path, "--usps", usps, model=DEFAULT_MODEL)
    assert "the parent learnt USPS train too: replaying it" in res.stderr, res.stderr[-2000:]
    assert read_metadata(tmp_path / "model.tflite").about["finetune"]["replay_usps"] is True
