"""`digitedge classify` end to end on the bundled samples, as a user runs it."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest

from digitedge.edge.metadata import ModelMetadata, write_metadata
from tests.conftest import CLI, REPO

SAMPLES = REPO / "samples"
TRUTH = json.loads((SAMPLES / "truth.json").read_text())


def classify(*args, cwd=None):
    return subprocess.run([*CLI, "classify", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def _rows(text):
    return [json.loads(line) for line in text.splitlines()]


def test_jsonl_schema_and_clean_samples_read_right():
    res = classify(SAMPLES)
    assert res.returncode == 0, res.stderr
    rows = _rows(res.stdout)
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    assert len(rows) == len([k for k in TRUTH if k.endswith(".jpg")])
    for row in rows:
        assert list(row) == ["path", "width", "height", "digits", "lines", "error"]
        assert row["error"] is None and (row["width"], row["height"]) == (640, 480)
        for d in row["digits"]:
            assert list(d) == ["box", "label", "confidence"]
            x, y, w, h = d["box"]
            assert 0 <= x and 0 <= y and x + w <= row["width"] and y + h <= row["height"]
            assert 0 <= d["label"] <= 9 and 0 < d["confidence"] <= 1
    truth_lines = [line for r in rows for line in TRUTH[r["path"].split("/")[-1]]["lines"]]
    read_right = [line for r in rows for line in r["lines"] if line in TRUTH[r["path"].split("/")[-1]]["lines"]]
    assert len(read_right) >= 0.75 * len(truth_lines)  # quality itself is measured in test_quality
    assert "images/s" in res.stderr.splitlines()[-1]


def test_csv_output_and_text_format(tmp_path):
    out = tmp_path / "res.csv"
    assert classify(SAMPLES / "clean-1.jpg", "--out", out).returncode == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["path", "lines", "digits", "error"]
    row = json.loads(classify(SAMPLES / "clean-1.jpg").stdout)
    assert rows[1] == [str(SAMPLES / "clean-1.jpg"), " ".join(row["lines"]), str(len(row["digits"])), ""]
    text = classify(SAMPLES / "clean-1.jpg", "--format", "text").stdout
    assert text.strip() == f"{SAMPLES / 'clean-1.jpg'}: {' | '.join(row['lines'])}"


def test_workers_do_not_change_output(tmp_path):
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert classify(SAMPLES, "--out", one).returncode == 0
    assert classify(SAMPLES, "--out", two, "--workers", "2").returncode == 0
    assert one.read_text() == two.read_text()


def test_resume_skips_done_files_and_repairs_a_torn_row(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("clean-1.jpg", "clean-2.jpg", "hard-1.jpg"):
        shutil.copy(SAMPLES / name, folder / name)
    out = tmp_path / "res.jsonl"
    assert classify(folder / "clean-1.jpg", "--out", out).returncode == 0
    with out.open("a") as f:
        f.write('{"path": "' + str(folder / "clean-2.jpg") + '", "wid')  # killed mid-row
    res = classify(folder, "--out", out)
    assert res.returncode == 0 and "resuming: 1 of 3" in res.stderr
    rows = _rows(out.read_text())
    assert [r["path"] for r in rows] == [str(folder / n) for n in ("clean-1.jpg", "clean-2.jpg", "hard-1.jpg")]
    assert classify(folder, "--out", out).returncode == 0  # nothing left to do, nothing duplicated
    assert len(_rows(out.read_text())) == 3


def test_bad_files_get_error_rows_and_exit_1(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    shutil.copy(SAMPLES / "clean-1.jpg", tmp_path / "good.jpg")
    res = classify(tmp_path, tmp_path / "missing.jpg")
    assert res.returncode == 1
    rows = {r["path"].split("/")[-1]: r for r in _rows(res.stdout)}
    assert rows["empty.png"]["error"] == "empty file"
    assert rows["text.png"]["error"].startswith("not a decodable image")
    assert "No such file" in rows["missing.jpg"]["error"]
    assert rows["good.jpg"]["error"] is None and rows["good.jpg"]["lines"]


def test_annotate_writes_pictures(tmp_path):
    assert (
        classify(SAMPLES / "hard-1.jpg", "--annotate", tmp_path / "ann", "--out", tmp_path / "r.jsonl").returncode == 0
    )
    assert (tmp_path / "ann" / "hard-1.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nowhere.tflite"], "nowhere.tflite: model file not found"),
        (["--out", "x.txt"], "use a .jsonl or .csv file"),
        (["--workers", "0"], "--workers must be >= 1"),
    ],
)
def test_usage_errors_are_one_line_exit_2(tmp_path, args, message):
    res = classify(SAMPLES / "clean-1.jpg", *args, cwd=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr


def test_a_corrupt_model_is_one_line_exit_2(tmp_path):
    model = tmp_path / "junk.tflite"
    model.write_bytes(b"\x00not a flatbuffer" * 100)
    meta = json.loads((REPO / "edge" / "models" / "default.json").read_text())
    write_metadata(model, ModelMetadata.from_json(meta))  # metadata that claims all is well, tied to the junk file
    res = classify(SAMPLES / "clean-1.jpg", "--model", model)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "junk.tflite: not a loadable TFLite model" in res.stderr


def test_edge_path_never_imports_tensorflow_or_train():
    code = (
        "import sys; from digitedge.edge.cli import main; "
        f"rc = main(['classify', {str(SAMPLES / 'clean-1.jpg')!r}]); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras', 'train', 'convert')]; "
        "print('LOADED', bad, file=sys.stderr); sys.exit(rc or bool(bad))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "LOADED []" in res.stderr
