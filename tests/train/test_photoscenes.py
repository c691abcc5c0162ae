"""The photo-like scene generator's own guarantees."""

import itertools

import numpy as np

from digitedge.train.photoscenes import _size


def test_no_digit_is_drawn_taller_than_the_page():
    """One line of digits two thirds of the page tall, and a 7 with a long tail below it:
    the digit came out taller than the page and the generator crashed drawing it (seed 2029
    at 1600x1200, its 71st scene). Heights now stop at the page's."""
    rng = np.random.default_rng(0)
    page, height = 750, int(0.65 * 750)  # the tallest line make_photo draws on a 4:3 page
    heights = [_size(7, height, 1.8 * height, True, rng, page)[0] for _ in range(400)]
    assert max(heights) == page  # the tail would reach past it, and is cut there
    assert min(heights) >= int(0.6 * height)


def _bars(seed: int, n: int, **options) -> list:
    """The first `n` photo-like scenes (400x300) of `seed`, every digit drawn as a bar."""
    from digitedge.train import photoscenes

    digits = np.zeros((10, 28, 28), np.uint8)
    digits[:, 4:24, 12:16] = 255
    stream = photoscenes.photo_stream(digits, np.arange(10), seed=seed, size=(400, 300), **options)
    return list(itertools.islice(stream, n))


def test_a_pencil_stroke_is_speckled_and_its_draw_leaves_the_others_alone(monkeypatch):
    """Graphite catches on the paper's tooth: most of a pencil stroke is full, some of it
    nearly bare. The speckle is drawn from a stream of its own, so the scenes stay the ones
    they were before it (the same digits, papers and lights), the pencil ones speckled:
    drawing it differently changes the pencil scenes' pixels and nothing else."""
    from digitedge.train import photoscenes

    tooth = photoscenes._tooth((200, 200), np.random.default_rng(1))
    assert 0.1 <= tooth.min() and tooth.max() <= 1.0
    assert np.mean(tooth == 1.0) > 0.2 and np.mean(tooth < 0.5) > 0.03  # mostly full, some pits
    speckled = _bars(seed=3, n=12)
    monkeypatch.setattr(photoscenes, "_tooth", lambda shape, rng: np.ones(shape, np.float32) + 0 * rng.random(99).sum())
    plain = _bars(seed=3, n=12)
    pencil = [s.conditions["ink"] == "pencil" for s in speckled]
    assert any(pencil) and not all(pencil)
    for a, b, is_pencil in zip(speckled, plain, pencil):
        assert a.conditions == b.conditions and a.lines == b.lines
        assert np.array_equal(a.image, b.image) != is_pencil


def test_a_sheet_written_to_its_edge_is_cut_past_its_ink_and_leaves_the_others_alone(monkeypatch):
    """A sticky note or a slip is written to its edge: some sheets on a desk end a few px to
    3% of the page past their longest line. The cut draws from a stream seeded by the
    generator's state, which it leaves as it is, so the other scenes stay the ones they were:
    never cutting changes the cut sheets' pixels and nothing else."""
    from digitedge.train import photoscenes

    owner = np.zeros((100, 1000), np.int32)
    owner[40:60, 300:700] = 1
    cuts = [photoscenes._cut(owner, np.random.default_rng(seed)) for seed in range(200)]
    cut = [c for c in cuts if c < 1000]
    assert 0.2 < len(cut) / len(cuts) < 0.4  # TO_EDGE of the sheets
    assert min(cut) >= 700 + 5 and max(cut) <= 700 + 30  # past the ink, by 0.5-3% of the page
    drawn = _bars(seed=5, n=16)
    monkeypatch.setattr(photoscenes, "_cut", lambda owner, rng, to_edge: owner.shape[1] + int(0 * rng.random(9).sum()))
    whole = _bars(seed=5, n=16)
    edge = [s.conditions["edge"] for s in drawn]
    assert any(edge) and not all(edge)
    for a, b, is_cut in zip(drawn, whole, edge):
        assert a.lines == b.lines and a.conditions == {**b.conditions, "edge": is_cut}
        assert np.array_equal(a.image, b.image) != is_cut
        assert not is_cut or a.conditions["desk"]
    monkeypatch.undo()
    before = _bars(seed=5, n=16, to_edge=0)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(before, whole))  # `to_edge=0`: the draw before it
