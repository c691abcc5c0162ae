"""Training samples: camera-like digits and not-a-digit marks, reproducible, held-out fonts
stay held out."""

from __future__ import annotations

import numpy as np
import pytest

from digitedge.train import augment, cli


def test_font_families_are_split_not_shared():
    seen, held_out = augment.system_fonts(False), augment.system_fonts(True)
    if not seen and not held_out:
        pytest.skip("no TrueType/OpenType fonts on this machine: negatives are drawn without text")
    assert seen and held_out, "a quarter of the families is held out, the rest are for training"
    family = lambda p: p.stem.split("-")[0]  # noqa: E731
    assert not {family(p) for p in seen} & {family(p) for p in held_out}


def test_negatives_are_reproducible_prepared_inputs(mnist):
    a = augment.negatives(40, 3, mnist.x_test[:100], None)
    b = augment.negatives(40, 3, mnist.x_test[:100], None)
    assert a.shape == (40, 28, 28, 1) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert augment.negatives(40, 3, mnist.x_test[:100], None, held_out=True).any()


def test_glyph_pieces_come_from_the_recognizers_own_cuts():
    rng = np.random.default_rng(0)
    wide = np.zeros((40, 80), np.uint8)
    wide[5:35, 5:15] = wide[5:35, 40:50] = wide[18:22, 5:50] = 255  # an H: wide, so it is cut
    piece = augment._glyph_piece(wide, rng)
    assert piece.any() and piece.shape[0] >= 0.4 * 30 and piece.shape[1] < 45
    narrow = np.zeros((40, 20), np.uint8)
    narrow[5:35, 5:15] = 255  # too narrow to be touching digits: stays whole
    assert augment._glyph_piece(narrow, rng).shape == (30, 10)


def test_photographed_digits_are_cut_out_by_the_devices_segmenter(mnist):
    rng = np.random.default_rng(0)
    crops = [augment._photo_crop(img, rng) for img in mnist.x_test[:30]]
    found = [c for c in crops if c is not None]
    assert len(found) >= 27  # the segmenter finds almost every photographed digit
    for crop, img in zip(crops, mnist.x_test[:30]):
        if crop is not None:
            ys, xs = np.nonzero(img)
            aspect = (np.ptp(xs) + 1) / (np.ptp(ys) + 1)
            assert abs(crop.shape[1] / crop.shape[0] - aspect) < 0.35  # the digit, not a smudge
    a = augment.augment_batch(mnist.x_test[:50], 9)
    assert a.shape == (50, 28, 28, 1) and np.array_equal(a, augment.augment_batch(mnist.x_test[:50], 9))


def test_longest_tail_bounds_the_stems_drawn(mnist, monkeypatch):
    """`--longest-tail` reaches the augmentation: the bundled recipe draws stems up to 3x as
    long, a run asking for 4 draws longer ones, and never past what it asked for."""
    stretches: list[float] = []
    real = augment.long_tail

    def recorded(ink: np.ndarray, split: float, stretch: float) -> np.ndarray:
        stretches.append(stretch)
        return real(ink, split, stretch)

    monkeypatch.setattr(augment, "long_tail", recorded)
    tailed = np.flatnonzero(np.isin(mnist.y_test, augment.TAILED))[:300]
    augment.augment_batch(mnist.x_test[tailed], 1, mnist.y_test[tailed])
    bundled, stretches[:] = list(stretches), []
    augment.augment_batch(mnist.x_test[tailed], 1, mnist.y_test[tailed], longest_tail=4.0)
    assert bundled and max(bundled) <= 3.0 and 3.0 < max(stretches) <= 4.0


def test_train_command_passes_longest_tail_on(monkeypatch, tmp_path):
    from digitedge.train import fit  # TensorFlow: imported where needed

    seen = []
    monkeypatch.setattr(fit, "train", lambda cfg: seen.append(cfg) or {"arch": cfg.arch})
    assert cli.main(["--out", str(tmp_path / "run"), "--longest-tail", "4"]) == 0
    assert seen[0].longest_tail == 4.0


def test_a_longest_tail_shorter_than_the_shortest_is_refused_by_name(tmp_path, capsys):
    assert cli.main(["--out", str(tmp_path / "run"), "--longest-tail", "1"]) == 2
    assert "--longest-tail 1.0: at least 1.3" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
