"""Tiny train -> QAT -> int8 export -> verification, through the real command lines."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from digitedge.convert.cli import main as convert_main  # noqa: E402
from digitedge.edge.metadata import read_metadata  # noqa: E402
from digitedge.edge.model import Classifier  # noqa: E402
from digitedge.train.cli import main as train_main  # noqa: E402


def test_seed_is_the_reference_network_exactly():
    from digitedge.train.nets import build

    model = build("seed", 10)
    assert model.count_params() == 120_762
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense", "Dense"]
    assert [getattr(layer, "units", getattr(layer, "filters", None)) for layer in model.layers] == [
        16,
        None,
        16,
        None,
        None,
        128,
        128,
        10,
    ]


TINY = ["--arch", "edge", "--epochs", "3", "--limit-train", "2500", "--limit-test", "1000", "--val", "500"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist_path):
    run = tmp_path_factory.mktemp("run")
    assert train_main(["--data", str(mnist_path), "--out", str(run), "--seed", "7", *TINY]) == 0
    assert (
        convert_main(
            [str(run), "--data", str(mnist_path), "--limit-train", "2000", "--limit-test", "1000", "--tolerance", "1.0"]
        )
        == 0
    )
    return run


def test_run_folder_has_model_reports_and_metrics(tiny_run):
    for name in ("model.keras", "history.json", "metrics.json"):
        assert (tiny_run / name).stat().st_size > 0
    for name in ("curves.png", "confusion.png"):
        assert (tiny_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["arch"] == "edge" and metrics["labels"] == [*range(10), None]
    assert 0.6 < metrics["test_accuracy"] <= 1.0 and 0 <= metrics["false_accept"] < 0.5
    assert np.array(metrics["confusion"]).sum() == 1000
    assert metrics["config"]["command"].startswith("digitedge train --data")


def test_same_seed_same_model(tiny_run, tmp_path, mnist_path):
    again = tmp_path / "again"
    assert train_main(["--data", str(mnist_path), "--out", str(again), "--seed", "7", *TINY]) == 0
    first = json.loads((tiny_run / "history.json").read_text())
    assert json.loads((again / "history.json").read_text()) == first


def test_int8_model_takes_bytes_and_agrees_with_float(tiny_run, mnist):
    model = tiny_run / "model_int8.tflite"
    meta = read_metadata(model)
    v = meta.about["verification"]
    assert v["passed"] and v["test_images"] == 1000
    assert v["qat_agreement"] >= 0.99  # int8 computes what the fake-quant model computed
    assert v["agreement"] >= 0.9  # and mostly the digit the (less fine-tuned) float model picked
    assert v["drop_pp"] == pytest.approx((v["float_accuracy"] - v["int8_accuracy"]) * 100, abs=1e-3)
    assert v["drop_pp"] <= 1.0
    assert meta.labels == (*range(10), None) and 0.5 <= meta.temperature <= 4
    assert v["int8_ece"] <= v["int8_ece_uncalibrated"] + 1e-9  # calibration never makes it worse here
    about = meta.about
    assert about["train_command"].startswith("digitedge train") and about["convert_command"].startswith(
        "digitedge convert"
    )
    assert about["data"]["sha256"] == about["data"]["train_sha256"] == mnist.sha256()
    clf = Classifier(model)
    inp = clf.interpreter.get_input_details()[0]
    assert inp["dtype"] == np.uint8 and inp["quantization"][1] == 0
    assert abs(inp["quantization"][0] * 255 - 1) < 1e-3  # device bytes go in unchanged


def test_int8_accuracy_reproduces_through_the_edge_runtime(tiny_run, mnist):
    from digitedge.train.data import prepare_data

    x = prepare_data(mnist, 0, 10, 1000).x_test
    preds = Classifier(tiny_run / "model_int8.tflite").classify(x)
    acc = np.mean([p.label == y for p, y in zip(preds, mnist.y_test[:1000])])
    # the device rule (with the fitted not-a-digit threshold), as verified at conversion
    assert acc == pytest.approx(
        read_metadata(tiny_run / "model_int8.tflite").about["verification"]["device"]["test_accuracy"], abs=1e-9
    )


def test_verification_failure_is_loud_and_keeps_the_files(tiny_run, tmp_path, mnist_path, capsys):
    out = tmp_path / "strict.tflite"
    code = convert_main(
        [
            str(tiny_run),
            "--data",
            str(mnist_path),
            "--out",
            str(out),
            "--qat-epochs",
            "0",
            "--limit-train",
            "300",
            "--limit-test",
            "300",
            "--tolerance",
            "-100",
        ]
    )
    assert code == 1
    assert "VERIFICATION FAILED" in capsys.readouterr().err
    assert out.is_file() and read_metadata(out).about["verification"]["passed"] is False


def test_missing_run_is_a_one_line_error(tmp_path, capsys):
    assert convert_main([str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no trained model" in err[0]


def _open_set_probs(p_digit):
    probs = np.zeros((len(p_digit), 11))
    probs[:, 3], probs[:, 10] = p_digit, 1 - p_digit
    return probs


def test_none_threshold_meets_false_accept_within_the_false_reject_budget():
    from digitedge.convert.recipe import fit_none_threshold

    rng = np.random.default_rng(0)
    labels = [*range(10), None]
    digits = _open_set_probs(rng.uniform(0.5, 1.0, 1000))  # P(some digit) of held-out digits
    negatives = _open_set_probs(rng.uniform(0.0, 0.8, 1000))  # ...and of held-out non-digits
    t = fit_none_threshold(digits, negatives, labels, max_false_reject=0.5, max_false_accept=0.1)
    p_none = negatives[:, 10]
    assert (p_none < t).mean() <= 0.1 < (p_none < t + 0.01).mean()  # the highest such threshold
    assert (digits[:, 10] >= t).mean() <= 0.5
    # budget too small to reach the target: stop at the budget
    t = fit_none_threshold(digits, negatives, labels, max_false_reject=0.01, max_false_accept=0.0)
    assert (digits[:, 10] >= t).mean() <= 0.01 < (digits[:, 10] >= t - 0.01).mean()
    # negatives far from digits: the laxest threshold that still rejects them all
    t = fit_none_threshold(digits, _open_set_probs(np.full(10, 0.1)), labels, 0.01, 0.02)
    assert t == 0.9 and (digits[:, 10] >= t).mean() == 0


def test_recipe_runs_train_then_convert_with_the_bundled_defaults(monkeypatch, tmp_path):
    import digitedge.convert.cli
    import digitedge.train.cli

    calls = []
    monkeypatch.setattr(digitedge.train.cli, "main", lambda argv: calls.append(("train", argv)) or 0)
    monkeypatch.setattr(digitedge.convert.cli, "main", lambda argv: calls.append(("convert", argv)) or 0)
    run, out = tmp_path / "run", tmp_path / "m.tflite"
    assert (
        digitedge.convert.cli.recipe_main(["--data", "d.npz", "--fashion", "f", "--run", str(run), "--out", str(out)])
        == 0
    )
    assert calls == [
        ("train", ["--arch", "wide-bn", "--seed", "0", "--fashion", "f", "--data", "d.npz", "--out", str(run)]),
        ("convert", [str(run), "--data", "d.npz", "--out", str(out)]),
    ]


def test_model_table_is_written_with_its_command(tiny_run, tmp_path, mnist_path):
    from digitedge.convert.table import main as table_main

    out = tmp_path / "models.md"
    assert table_main([str(tiny_run), "--data", str(mnist_path), "--out", str(out)]) == 0
    text = out.read_text()
    v = json.loads((tiny_run / "convert.json").read_text())["verification"]
    assert f"python -m digitedge.convert.table {tiny_run}" in text and "| `edge` |" in text
    assert f"{100 * v['int8_digit_accuracy']:.2f}%" in text  # closed-set accuracy, from the verification
    assert "| segmenter crop of a photo |" in text
