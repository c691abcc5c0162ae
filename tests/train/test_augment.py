"""Not-a-digit samples: held-out fonts stay held out, and samples are reproducible."""

from __future__ import annotations

import numpy as np

from train import augment


def test_font_families_are_split_not_shared():
    seen, held_out = augment.system_fonts(False), augment.system_fonts(True)
    family = lambda p: p.stem.split("-")[0]  # noqa: E731
    assert not {family(p) for p in seen} & {family(p) for p in held_out}


def test_negatives_are_reproducible_prepared_inputs(mnist):
    a = augment.negatives(40, 3, mnist.x_test[:100], None)
    b = augment.negatives(40, 3, mnist.x_test[:100], None)
    assert a.shape == (40, 28, 28, 1) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert augment.negatives(40, 3, mnist.x_test[:100], None, held_out=True).any()
