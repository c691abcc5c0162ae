"""`digitedge label`: labels appended per keystroke, last one winning; both input layouts;
the page driven by keyboard and mouse in a real headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from digitedge.edge.labels import LABELS, LabelError, items, labelled, read_labels, write_label
from digitedge.edge.preprocess import prepare
from tests.conftest import CLI


def _crops(folder, mnist, n=6):
    """A folder as --collect leaves it: n MNIST model inputs with records, doubts 0.1 .. 0.6."""
    folder.mkdir()
    for i in range(n):
        ident = f"{1000 + i}-42"
        cv2.imwrite(str(folder / f"{ident}.png"), prepare(mnist.x_test[i]))
        cv2.imwrite(str(folder / f"{ident}-context.png"), 255 - cv2.resize(mnist.x_test[i], (56, 56)))
        record = {"id": ident, "why": "low confidence", "digit": int(mnist.y_test[i]), "label": int(mnist.y_test[i])}
        record |= {"p_digit_if_digit": 0.9 - 0.1 * i, "p_not_a_digit": 0.0, "source": "test", "frame": i}
        (folder / f"{ident}.json").write_text(json.dumps(record))
    return folder


def test_labels_are_appended_and_the_last_one_wins(mnist, tmp_path):
    folder = _crops(tmp_path / "crops", mnist)
    order = [i.id for i in items(folder)]
    assert order == [f"{1000 + i}-42" for i in reversed(range(6))]  # biggest doubt first
    write_label(folder, order[0], "7")
    write_label(folder, order[1], "none")
    write_label(folder, order[0], "3")  # a correction is one more line
    write_label(folder, order[2], "skip")
    with open(folder / LABELS, "a") as f:
        f.write('{"id": "1000-42", "lab')  # torn by a power cut
    assert read_labels(folder) == {order[0]: "3", order[1]: "none", order[2]: "skip"}
    assert len((folder / LABELS).read_text().splitlines()) == 5
    crops = {c.id: c for c in labelled(folder)}
    assert set(crops) == {order[0], order[1]} and crops[order[0]].label == 3 and crops[order[1]].label is None
    assert crops[order[0]].input.shape == (28, 28)
    for ident, label in ((order[0], "x"), ("../../etc/passwd", "1"), ("9999-1", "1")):
        with pytest.raises(LabelError):
            write_label(folder, ident, label)


def test_a_folder_of_folders_is_read_as_labelled(mnist, tmp_path):
    for name in ("4", "none"):
        (tmp_path / name).mkdir()
    cv2.imwrite(str(tmp_path / "4" / "input.png"), prepare(mnist.x_test[4]))  # a model input, as saved
    page = np.full((120, 90), 255, np.uint8)  # a crop of dark ink on paper, any size
    page[10:110, 5:85] = 255 - cv2.resize(mnist.x_test[4], (80, 100))
    cv2.imwrite(str(tmp_path / "4" / "photo.png"), page)
    cv2.imwrite(str(tmp_path / "none" / "scribble.png"), 255 - prepare(mnist.x_test[0]))  # light: inverted
    crops = {c.id: c for c in labelled(tmp_path)}
    assert {c.label for c in crops.values()} == {4, None}
    assert np.array_equal(crops["4/input.png"].input, prepare(mnist.x_test[4]))
    assert np.array_equal(crops["none/scribble.png"].input, prepare(mnist.x_test[0]))
    assert np.abs(crops["4/photo.png"].input.astype(int) - prepare(mnist.x_test[4])).mean() < 40
    with pytest.raises(LabelError, match="no labels.jsonl"):
        labelled(tmp_path / "4")


def _start(folder):
    proc = subprocess.Popen([*CLI, "label", str(folder), "--port", "0"], stderr=subprocess.PIPE, text=True)
    for _ in range(10):
        line = proc.stderr.readline()
        if "serving on" in line:
            return proc, line.split()[-1].rstrip("/")
    proc.kill()
    raise AssertionError(f"label did not start: {line}")


def test_the_page_labels_by_keyboard_and_mouse(mnist, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install playwright)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    folder = _crops(tmp_path / "crops", mnist)
    order = [i.id for i in items(folder)]
    proc, url = _start(folder)
    saved = lambda: read_labels(folder)  # noqa: E731
    try:
        req = urllib.request.Request(url + "/api/items", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(req, timeout=10)  # serve's guard against DNS rebinding
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 900, "height": 700})
            page.goto(url + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=15000)
            tile = lambda ident: page.locator(f".tile[data-id='{ident}']")  # noqa: E731
            assert page.locator(".tile").count() == 6 and "current" in tile(order[0]).get_attribute("class")
            page.keyboard.press("7")
            page.wait_for_selector(f".tile[data-id='{order[0]}'][data-label='7']")
            assert saved() == {order[0]: "7"}  # on disk at the keystroke
            page.keyboard.press("n")  # the selection moved on by itself
            page.wait_for_selector(f".tile[data-id='{order[1]}'][data-label='none']")
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("3")  # back to the first: relabelled
            page.wait_for_selector(f".tile[data-id='{order[0]}'][data-label='3']")
            tile(order[4]).click()
            page.click("#buttons button[data-label='5']")
            page.wait_for_selector(f".tile[data-id='{order[4]}'][data-label='5']")
            page.keyboard.press("s")
            page.wait_for_selector(f".tile[data-id='{order[5]}'][data-label='skip']")
            assert saved() == {order[0]: "3", order[1]: "none", order[4]: "5", order[5]: "skip"}
            page.reload()  # labels come back from the folder
            page.wait_for_selector("body[data-ready='1']")
            assert tile(order[0]).get_attribute("data-label") == "3"
            assert "current" in tile(order[2]).get_attribute("class")  # the first one not labelled
            assert page.locator("#count").text_content() == "4 of 6 labelled"
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert len((folder / LABELS).read_text().splitlines()) == 5
