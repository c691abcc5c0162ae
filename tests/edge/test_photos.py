"""Reading real photos, and the generator's photo-like conditions that stand in for them.

Each floor guards one feature, and failed without it when it was written: finding the
sheet on a desk (desk recall 0.26 without), erasing ruled and grid lines (lined recall
0.75, precision 0.63 without), polarity that survives dim light (dim recall 0.67 without),
thin pens' strokes thickened to MNIST's (thin-pen lines 0.59 exact without), a second look
at a dim page where nothing reached white paper's ink contrast (dim recall 0.772, thin-pen
recall 0.531 without). Adding uneven sizes to the generator drew every scene anew, and the
new draw is harder: the floors were measured again on it; the figures without are the old
draw's, but for the second look's. Drawing long tails and cramped numbers drew them anew
again, and the model bundled on 2026-12-07 (trained on long tails), a straight second look,
and every dim page read with its own contrast read it better: the floors were raised under
the figures beside them. Drawing desk past the edges of paper that fills the frame drew
them anew a third time (2026-12-07, later): the figures beside the floors are that draw's.
Speckling pencil strokes (graphite skips the paper's tooth) redrew the pencil pages alone
(the speckle has a stream of its own): the three floors that then failed were measured
again, each with its figure without the feature; the figures beside the others may be a
little off on their pencil pages.
Writing some sheets on a desk to their edge (2026-12-08) redrew those sheets alone: the
scenes of `_drawn` are drawn as before it, so the figures beside their floors hold.
A sheet running out of the
frame left a sliver of desk along the frame's edge, read as a 1 (desk precision 0.946
without cutting the sheet's mask at the frame). The figures beside the floors are the
bundled model's. The real photos are the
dev set: a smoke test, not a target.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from digitedge.edge.data import Box, Digit
from digitedge.edge.images import read_image
from digitedge.edge.lines import group_lines, read_line
from digitedge.edge.recognize import Recognizer
from digitedge.edge.segment import SegmentConfig
from digitedge.edge.view import look
from digitedge.train.augment import TAILED, long_tail
from digitedge.train.photos import evaluate, load
from digitedge.train.photoscenes import farther, make_cell, pen_digit, photo_stream
from digitedge.train.scenes import make_scene, score

N = 60


@pytest.fixture(scope="module")
def recognizer():
    return Recognizer()


@pytest.fixture(scope="module")
def photos(mnist):
    """The photo-like tier as drawn now (8 of its 29 sheets on a desk written to their edge)."""
    stream = photo_stream(mnist.x_test, mnist.y_test, seed=2027, size=(1024, 768))
    return [next(stream) for _ in range(N)]


@pytest.mark.parametrize(
    "condition, pick, floors",
    [
        (
            "all",
            lambda s: True,
            {"recall": 0.92, "precision": 0.96, "line_exact": 0.76},
        ),  # measured 0.969 / 0.989 / 0.833
        ("sheet on a desk", lambda s: s.conditions["desk"], {"recall": 0.9, "precision": 0.96}),  # 0.957 / 0.987
        (
            "ruled or grid paper",
            lambda s: s.conditions["paper"] != "plain",
            {"recall": 0.9, "precision": 0.95},
        ),  # 0.975 / 0.985
        ("dim light", lambda s: s.conditions["light"] < 0.6, {"recall": 0.9}),  # 0.982
        ("thin pen", lambda s: s.conditions["pen"] == "thin", {"recall": 0.93, "line_exact": 0.78}),  # 0.983 / 0.843
        ("uneven sizes", lambda s: s.conditions["sizes"] == "uneven", {"recall": 0.9}),  # 0.983
    ],
)
def test_photo_like_floor(recognizer, photos, condition, pick, floors):
    chosen = [s for s in photos if pick(s)]
    assert len(chosen) >= 10, condition
    figures = score(recognizer.recognize, chosen)
    for key, floor in floors.items():
        assert figures[key] >= floor, f"{condition}: {key} = {figures[key]:.3f} < {floor}"


def _drawn(mnist, seed: int, pick, n: int = 16, size: tuple[int, int] = (1024, 768)) -> list:
    """The first `n` photo-like scenes (`size`) of `seed` that `pick` takes, drawn as before
    sheets were written to their edge: the draw the floors were measured on."""
    stream = photo_stream(mnist.x_test, mnist.y_test, seed=seed, size=size, to_edge=0.0)
    return list(itertools.islice((s for s in stream if pick(s)), n))


def test_a_band_of_shadow_across_the_page_hides_no_digit(recognizer, mnist):
    """Photo-like scenes with a soft shadow across the page (a hand, a phone): a band of it
    narrower than the background's square was taken for ink, one mark with every digit in
    it (without reading the background again at the digits' scale: recall 0.854, lines 0.5;
    the seed moved from 2031 when the generator drew long tails: that draw has no such band)."""
    shadowed = _drawn(mnist, 2035, lambda s: s.conditions["shadow"] and not s.conditions["lone"])
    figures = score(recognizer.recognize, shadowed)
    assert figures["recall"] >= 0.9 and figures["line_exact"] >= 0.7, figures  # measured 0.961 / 0.789


def test_a_lone_digit_or_a_few_in_a_band_of_shadow_are_read(recognizer, mnist):
    """A band of shadow across a page with one to three digits welds them into one mark, and
    there are too few others to tell the digits' height: it is taken from the darker pieces
    inside the band (without: recall 0.696, lines 0.688; the seed moved from 2033 when the
    generator drew long tails: that draw no longer welds its digits)."""
    few = _drawn(mnist, 2034, lambda s: s.conditions["shadow"] and (s.conditions["lone"] or len(s.boxes) <= 3))
    figures = score(recognizer.recognize, few)
    assert figures["recall"] >= 0.78 and figures["line_exact"] >= 0.75, figures  # measured 0.870 / 0.812


def test_a_digit_in_a_shadow_running_off_the_frame_is_read(recognizer, mnist):
    """A soft band of shadow from the top of the frame to its bottom, through one digit of a
    number: band and digit are one mark along the frame's edge, dropped as the frame's own
    edge, and the look again at the digits' scale was asked only of the marks kept. The band
    dropped counts as a shadow too (without: 0 of 10 such pages read exactly)."""
    rng = np.random.default_rng(1)
    for _ in range(6):
        page = np.full((600, 800), 235.0, np.float32)
        chosen = rng.choice(len(mnist.x_test), 4, replace=False)
        for k, i in enumerate(chosen):
            digit = cv2.resize(mnist.x_test[i], (80, 80), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
            page[250:330, 150 + 130 * k : 230 + 130 * k] *= 1 - 0.8 * digit
        band = np.zeros_like(page)
        cv2.line(band, (290, 0), (350, 600), 1.0, 80)  # through the second digit
        page *= 1 - 0.45 * cv2.GaussianBlur(band, (0, 0), 20)
        image = np.clip(page + rng.normal(0, 3, page.shape), 0, 255).astype(np.uint8)
        assert recognizer.recognize(image).lines == ("".join(str(mnist.y_test[i]) for i in chosen),)


def test_a_shadow_running_off_a_sheet_on_a_desk_is_no_digit(recognizer, mnist):
    """A sheet on a desk with a shadow across it and a digit or three: the band runs from
    one side of the sheet to the other and, with too few digits to tell their height, was
    read as a tall 1. On a sheet, its outline is the frame's edge: a mark along it spanning
    a third of the sheet is dropped, and looked at as a band of shadow (without: precision
    0.90, recall 0.818)."""
    few = _drawn(mnist, 2038, lambda s: s.conditions["desk"] and s.conditions["shadow"] and len(s.boxes) <= 3, n=6)
    figures = score(recognizer.recognize, few)
    assert figures["precision"] >= 0.95 and figures["recall"] >= 0.85, figures  # measured 1.0 / 0.909


def test_desk_showing_past_the_paper_is_no_digit(recognizer, mnist):
    """Paper filling the frame, cropped or framed a little loosely: desk shows along the
    frame's edges, a wedge in a corner or a strip along a side. Read as a tall 1 (or a 7
    where two edges meet, as on two real-dev photos); a mark flush with the edge for most of
    its length is dropped (without: recall 0.879, precision 0.923; on the draw with speckled
    pencil, recall 0.879, precision 0.910: its pencil pages' specks cost precision either way)."""
    figures = score(recognizer.recognize, _drawn(mnist, 2041, lambda s: s.conditions["rim"]))
    assert figures["precision"] >= 0.88 and figures["recall"] >= 0.92, figures  # measured 0.910 / 0.953


def test_desk_past_the_paper_sets_no_ink_level(recognizer, mnist):
    """Pencil on paper with desk showing at the frame's edge: the desk's dark, far darker
    than pencil, set the clear-ink level, and the page's digits fell under it (whole pages
    read as nothing). The desk takes the paper's grey before the levels are measured
    (without, the edge rule alone: recall 0.616; 0.328 on the draw with speckled pencil)."""
    pick = lambda s: s.conditions["rim"] and s.conditions["ink"] == "pencil"  # noqa: E731
    figures = score(recognizer.recognize, _drawn(mnist, 2042, pick, n=12))
    assert figures["recall"] >= 0.7, figures  # measured 0.80 (0.944 before pencil was speckled)


def test_grid_lines_are_erased_to_their_ends(recognizer, mnist):
    """The line search stops short of a grid line's end where the line strays a pixel from
    the course it follows; the stub left read as a 1 or welded the digits it touched. Thin
    straight pieces left on the course of a line found are erased too (without: recall
    0.921, lines 0.80)."""
    figures = score(recognizer.recognize, _drawn(mnist, 2036, lambda s: s.conditions["paper"] == "grid"))
    assert figures["recall"] >= 0.95 and figures["line_exact"] >= 0.85, figures  # measured 0.972 / 0.875


def test_a_wide_shadow_over_thin_strokes_is_not_taken_for_a_stroke(recognizer, mnist):
    """A wide band of shadow over digits in a thin or ordinary pen, 2 MP: the background is
    read again with a square at least three stroke widths wide, and the stroke was measured
    on the band's ink above Otsu's level, which is the shadow itself (a "stroke" 40-70 px
    wide, a square as big as before, the band still one mark). Measured on the band's dark
    pieces when the shadow dominates (without: recall 0.747, lines 0.474)."""
    pick = lambda s: s.conditions["shadow"] and s.conditions["pen"] != "marker" and not s.conditions["lone"]  # noqa: E731
    figures = score(recognizer.recognize, _drawn(mnist, 2027, pick, size=(1600, 1200)))
    assert figures["recall"] >= 0.79 and figures["line_exact"] >= 0.53, figures  # measured 0.932 / 0.765


def _pencil_line(mnist, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Five MNIST test digits in a row, stroked again with a thin pen (0..1 on a 800x600
    page), and the number they make."""
    pencil, x, number = np.zeros((600, 800), np.float32), 60, ""
    for i in rng.choice(len(mnist.x_test), 5, replace=False):
        stroke = pen_digit(mnist.x_test[i], 90, 1.6)
        pencil[250:340, x : x + stroke.shape[1]] = stroke
        number, x = number + str(mnist.y_test[i]), x + stroke.shape[1] + 40
    return pencil, number


def test_a_thin_pencil_fainter_than_ink_is_read(recognizer, mnist):
    """A thin pencil line on white paper: its strokes stand 20-30 grey levels below the
    paper, under the 40 that ink must reach, and the whole page read as nothing. Where no
    stroke reaches ink's contrast, faint strokes clear of the page's noise are looked for
    (without: nothing read on any of these pages)."""
    rng = np.random.default_rng(5)
    for _ in range(4):
        pencil, number = _pencil_line(mnist, rng)
        photo = 225 - 28 * cv2.GaussianBlur(pencil, (0, 0), 0.8) + rng.normal(0, 2.0, pencil.shape)
        assert recognizer.recognize(np.clip(photo, 0, 255).astype(np.uint8)).lines == (number,)
    blank = np.clip(225 + rng.normal(0, 2.0, (600, 800)), 0, 255).astype(np.uint8)
    assert recognizer.recognize(blank).lines == ()  # and a quiet page with nothing on it stays empty


def test_a_grainy_pencil_is_read_where_a_few_specks_reach_ink(mnist):
    """Graphite skips the paper's tooth: a pencil stroke is speckled, and where a few specks
    of it reach ink's contrast the page had marks, so it was not looked at for faint ink,
    and the strokes fell apart into specks (1 page of these 8 read without). A page whose
    marks mostly barely reach that contrast is looked at again for faint ink, on a smoothed
    ink map where a grainy stroke is whole (7 of 8 read)."""
    from digitedge.train.photoscenes import _tooth

    rng = np.random.default_rng(5)
    pages = []
    for _ in range(8):
        pencil, number = _pencil_line(mnist, rng)
        pencil *= _tooth(pencil.shape, rng)
        photo = 225 - 32 * cv2.GaussianBlur(pencil, (0, 0), 0.8) + rng.normal(0, 3.0, pencil.shape)
        pages.append((np.clip(photo, 0, 255).astype(np.uint8), (number,)))
    read = {
        weak: sum(Recognizer(segment=SegmentConfig(weak_peak=weak)).recognize(p).lines == n for p, n in pages)
        for weak in (1.5, 0.0)
    }
    assert read[1.5] >= 6 and read[0.0] <= read[1.5] - 3, read


def test_a_thin_pen_or_pencil_on_a_dim_page_is_read(recognizer, mnist):
    """A thin pen or a pencil in dim light: ink takes a share of the light, and on paper
    under grey 160 the contrast it must reach is scaled to the paper's grey. That was done
    only where no mark at all reached white paper's contrast, and on ruled paper or in a
    noisy corner some mark always did (photo-like, 3 x 200 scenes: recall 0.938 -> 0.948,
    precision 0.960 -> 0.969, lines 75.9% -> 77.7%). Without scaling at all, on these 24:
    recall 0.744, precision 0.836 (on the draw with speckled pencil 0.758 / 0.942, the
    grainy pencil's look for faint ink reading some of those pages)."""

    def pick(s) -> bool:
        c = s.conditions
        return c["light"] < 0.6 and (c["pen"] == "thin" or c["ink"] == "pencil") and not c["lone"]

    scenes = _drawn(mnist, 2041, pick, n=24)
    got = {dim: score(Recognizer(segment=SegmentConfig(dim_paper=dim)).recognize, scenes) for dim in (160, 0)}
    assert got[160]["recall"] >= 0.86 and got[160]["recall"] >= got[0]["recall"] + 0.1, got  # measured 0.890
    assert got[160]["precision"] >= 0.85, got  # 0.877 (0.956 before pencil was speckled)


def test_a_lone_digit_on_a_dim_page_is_dark_ink(recognizer, mnist):
    """One digit alone on a dim page covers a few tenths of a percent of the frame: the
    polarity votes measured the frame's tails at 0.5-1% of its pixels, which is the paper's
    noise, and turned the page into light ink on a dark board, the digit into a filled blob
    turned away as not a digit. Measured at 0.05%, the tails are the strokes (16 such pages
    of seed 2047: 0.625 dark and 0.69 read with tails at 1%; 1.0 and 0.94 now)."""
    from digitedge.edge.images import to_gray
    from digitedge.edge.segment import _polarity

    pick = lambda s: s.conditions["lone"] and s.conditions["light"] < 0.6 and not s.conditions["desk"]  # noqa: E731
    pages = _drawn(mnist, 2047, pick, n=10)
    dark = {
        t: [_polarity(to_gray(s.image), SegmentConfig(polarity_tail=t)) == "dark" for s in pages] for t in (5e-4, 0.01)
    }
    assert all(dark[5e-4]) and not all(dark[0.01]), dark  # the second: this test can fail
    read = np.mean([recognizer.recognize(s.image).lines == tuple(s.lines) for s in pages])
    assert read >= 0.8, read  # measured 1.0


def _number_page(
    digits: list[tuple[np.ndarray, int]], h: int, top: int, shape: tuple[int, int], gaps: list[int], x: int = 60
) -> np.ndarray:
    """Pen digits (alpha patches) in black on white paper from `x`, their tops on a line
    `h` px tall at `top` (a taller one's tail hangs below it, a shorter one sits on its
    foot), each followed by its gap in px (negative: touching the next)."""
    alpha = np.zeros(shape, np.float32)
    for (patch, _), gap in zip(digits, gaps):
        ph, pw = patch.shape
        y = top if ph > h else top + h - ph
        np.maximum(alpha[y : y + ph, x : x + pw], patch, out=alpha[y : y + ph, x : x + pw])
        x += pw + gap
    return (255 * (1 - 0.85 * alpha)).astype(np.uint8)


def test_a_short_digit_beside_a_long_tailed_one_is_read(recognizer, mnist):
    """Uneven handwriting: a 4, 7 or 9 whose tail hangs below the line, beside a digit half
    its height. The short one was attached to the tall one as a broken-off stroke and
    dropped, or doubted and not taken as part of the number (80 pairs: 0.79 read exactly
    before both were read side by side and a number took digits of half or twice the height)."""
    rng = np.random.default_rng(1)

    def pen(label: int, height: float) -> np.ndarray:
        return pen_digit(mnist.x_test[rng.choice(np.flatnonzero(mnist.y_test == label))], int(height), 4.0)

    right = 0
    for _ in range(80):
        h = 60  # the line's height: both digits' tops on one line, the tall one's tail below it
        tall, short = int(rng.choice([4, 7, 9])), int(rng.integers(10))
        pair = [(pen(tall, h * rng.uniform(1.4, 1.6)), tall), (pen(short, h * rng.uniform(0.6, 0.75)), short)]
        if rng.random() < 0.5:
            pair.reverse()
        page = _number_page(pair, h, 100, (300, 400), [int(rng.uniform(0.05, 0.2) * h) for _ in pair])
        right += recognizer.recognize(page).lines == ("".join(str(label) for _, label in pair),)
    assert right / 80 >= 0.84, right / 80  # measured 0.9


def test_a_digit_touching_a_long_tail_is_read(recognizer, mnist):
    """Cramped handwriting: a short digit touching a 4, 7 or 9 whose stem hangs far below the
    line (drawn up to three times as long, the loop the line's size). The segmenter attaches
    the short one to the tall one; reading both side by side was refused whenever the model
    was unsure of the tailed digit, and the mark read whole as not a digit, or the tail alone
    with a sure digit left unread. Pieces the segmenter found apart are not cut pieces: only
    a cut needs every piece sure (80 pairs read exactly, with the model bundled before
    2026-12-07: 0.71 when every piece had to be sure, 0.78 after; with the bundled one,
    trained on long tails: 0.81 and 0.84. test_recognize checks the rule itself)."""
    rng = np.random.default_rng(3)

    def pen(label: int, height: float, stretch: float = 1.0) -> np.ndarray:
        digit = mnist.x_test[rng.choice(np.flatnonzero(mnist.y_test == label))]
        return pen_digit(long_tail(digit, 0.5, stretch), int(height), 3.0)

    right = 0
    for _ in range(80):
        h = 50
        tall, short = int(rng.choice(TAILED)), int(rng.integers(10))
        ratio = rng.uniform(1.6, 2.0)
        pair = [(pen(tall, h * ratio, (ratio - 0.5) / 0.5), tall), (pen(short, h * rng.uniform(0.8, 1.0)), short)]
        if rng.random() < 0.5:
            pair.reverse()
        touching = [-int(rng.uniform(0.02, 0.08) * h) for _ in pair]
        page = _number_page(pair, h, 60, (260, 360), touching)
        right += recognizer.recognize(page).lines == ("".join(str(label) for _, label in pair),)
    assert right / 80 >= 0.78, right / 80  # measured 0.84


def test_digits_a_pen_broke_across_are_read_whole(mnist):
    """A pen that skips leaves a digit in two pieces, one above the other, too tall together
    to be surely one digit: two halves of a 3, or two digits of lines written close. The
    segmenter pairs such pieces (`stack_height`) and the recognizer reads them as one and as
    two, and keeps the surer. 40 numbers of four digits, every other one broken across near
    its middle (`pen_digit`'s skip): 0.10 read exactly without pairing, 0.475 with."""
    got = {}
    for stack in (2.0, 0.0):
        rng = np.random.default_rng(4)
        reader = Recognizer(segment=SegmentConfig(stack_height=stack))
        right = 0
        for _ in range(40):
            picks = rng.choice(len(mnist.x_test), 4, replace=False)
            digits = []
            for n, i in enumerate(picks):
                skip = (rng.uniform(0.4, 0.6), rng.uniform(3, 6)) if n % 2 == 0 else None
                digits.append((pen_digit(mnist.x_test[i], 70, 3.0, skip), int(mnist.y_test[i])))
            page = _number_page(digits, 70, 60, (200, 460), [25] * 4, x=40)
            right += reader.recognize(page).lines == ("".join(str(label) for _, label in digits),)
        got[stack] = right / 40
    assert got[2.0] >= 0.4 and got[2.0] >= got[0.0] + 0.25, got


def test_real_dev_floor(recognizer, real_dev):
    """Upright photos read as they are; photos turned sideways with rotate='auto'."""
    photos = [p for p in load(real_dev) if p.kind == "photo"]
    upright, _ = evaluate(lambda p: recognizer.recognize(read_image(p)).lines, [p for p in photos if not p.rotated])
    turned, _ = evaluate(
        lambda p: recognizer.recognize(read_image(p), rotate="auto").lines, [p for p in photos if p.rotated]
    )
    # Measured F1 0.982 / 72% exact (the MNIST-only model, with the code of 2026-12-02: 0.943 /
    # 44%); without the sheet, polarity and ruled-line steps 0.47 / 22%, and sideways photos
    # read as stored score 0.16.
    assert upright["f1"] >= 0.95 and upright["exact"] >= 0.6, upright
    assert turned["f1"] >= 0.95 and turned["exact"] >= 0.4, turned  # measured 0.976 / 60%


def test_a_dim_photo_of_paper_is_still_dark_ink_on_paper(recognizer, mnist):
    scene = make_scene(mnist.x_test, mnist.y_test, np.random.default_rng(3), (640, 480), "clean")
    dim = (scene.image.astype(np.float32) * 0.35).astype(np.uint8)  # paper at grey 89: "dark" by its median
    assert recognizer.recognize(dim).lines == recognizer.recognize(scene.image).lines == tuple(scene.lines)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_a_sliver_of_desk_at_the_frames_edge_swallows_no_digit(recognizer, mnist, seed):
    """A cropped sheet with desk round its right half: the sliver's box holds digits, which
    were merged into it as its pieces and dropped with it (this read 317517 as 3)."""
    scene = make_scene(mnist.x_test, mnist.y_test, np.random.default_rng(seed), (640, 480), "clean")
    framed = scene.image.copy()
    framed[:, 636:] = framed[476:, 200:] = framed[:4, 200:] = 70
    assert recognizer.recognize(framed).lines == tuple(scene.lines)


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_a_page_turned_by_quarter_turns_reads_with_rotate_auto(recognizer, mnist, turns):
    scene = make_scene(mnist.x_test, mnist.y_test, np.random.default_rng(5), (640, 480), "clean", n_lines=2)
    turned = np.rot90(scene.image, -turns).copy()  # turned clockwise: reading it needs `turns` counter-clockwise
    result = recognizer.recognize(turned, rotate="auto")
    assert result.lines == tuple(scene.lines)
    assert recognizer.recognize(turned, rotate=90 * turns).lines == tuple(scene.lines)
    h, w = turned.shape[:2]
    assert all(0 <= d.box.x and d.box.x + d.box.w <= w and d.box.y + d.box.h <= h for d in result.digits)


def test_boxes_found_in_a_turned_view_map_back_exactly():
    gray = np.zeros((40, 60), np.uint8)
    gray[5:10, 20:30] = 255
    for turns in (0, 1, 2, 3):
        view = look(gray, SegmentConfig(find_page=False), turns)
        ys, xs = np.nonzero(view.gray)
        corners = np.float32([[xs.min(), ys.min()], [xs.max() + 1, ys.max() + 1]])
        assert view.to_frame(corners) == Box(20, 5, 10, 5)


def _row(gaps_in_heights, h=40, w=24):
    digits, x = [], 10
    for i, gap in enumerate([0.0, *gaps_in_heights]):
        x += int(gap * h)
        digits.append(Digit(Box(x, 100, w, h), i % 10, 0.99))
        x += w
    return digits


def test_wide_handwriting_stays_one_number():
    """Every gap 1.6 digit heights: one writer's spacing, not six numbers."""
    assert [read_line(n) for n in group_lines(_row([1.6] * 5))] == ["012345"]


def test_a_gap_wide_for_this_writer_ends_a_number():
    """Tight print-like spacing, then a gap of 1.4 heights: two numbers."""
    assert [read_line(n) for n in group_lines(_row([0.2, 0.2, 1.4, 0.2, 0.2]))] == ["012", "345"]


def test_usps_digits_of_other_writers_floor(recognizer, usps):
    """USPS test digits (all 2,007), each alone on paper: read as that digit. With --expect
    one every image gets its most probable digit; by default the not-a-digit rejection turns
    some away. The bundled model learnt USPS train beside MNIST, its rejection calibrated on
    both populations (0.982 / 0.971 then); the second look at unsure digits and the bold
    look at strokes as wide as the background's square brought it to 0.986 / 0.977, over
    the 0.975 the real-photo issue asks for; the model trained on long tails, 0.989 / 0.978."""
    data = np.load(usps)
    test = data["split"] == "test"
    pages = []
    for img in data["x"][test]:
        page = np.full((160, 160), 255, np.uint8)
        page[48:112, 48:112] = 255 - cv2.resize(img, (64, 64), interpolation=cv2.INTER_LINEAR)
        pages.append(page)
    labels = data["y"][test]
    one = Recognizer(expect="one")
    right_one = np.mean([one.recognize(p).digits[0].label == y for p, y in zip(pages, labels)])
    right_any = np.mean([[d.label for d in recognizer.recognize(p).digits] == [y] for p, y in zip(pages, labels)])
    assert right_one >= 0.98 and right_any >= 0.975, (right_one, right_any)


def test_a_bold_digit_filling_its_crop_is_read(mnist):
    """Form cells and cut-out digits (`make_cell`): a bold marker's strokes as wide as the
    background's square were taken for paper and hollowed out; the segmenter measures them
    on the grey crop and looks again with a square wide enough (bold pens read by --expect
    one: 0.74 without, 0.92 with; by default 0.58 and 0.78)."""
    rng = np.random.default_rng(3)
    cells = [c for c in (make_cell(mnist.x_test, mnist.y_test, rng) for _ in range(300)) if c.conditions["pen"] >= 0.1]
    right = {}
    for bold in (2.0, 0.0):
        one = Recognizer(expect="one", segment=SegmentConfig(bold_stroke=bold))
        right[bold] = np.mean([[d.label for d in one.recognize(c.image).digits] == c.labels for c in cells])
    assert right[2.0] >= 0.88 and right[2.0] >= right[0.0] + 0.1, right


def test_small_digits_of_a_far_page_are_read_enlarged(photos):
    """Photo-like pages shrunk until their digits are 14-22 px tall (a page far from a
    webcam, small handwriting): a frame whose digits come out under 24 px is read again
    enlarged to 32 px, where thin strokes and 0s written as small o's can be read. Without:
    recall 0.845, lines 0.627 exact; with: 0.909 and 0.746 (precision 0.982 -> 0.978), on
    the generator's draw with long tails and cramped numbers."""
    rng = np.random.default_rng(0)
    scenes = [farther(s, rng.uniform(14, 22)) for s in photos if len(s.boxes) >= 2]
    got = {me: score(Recognizer(min_enlarge=me).recognize, scenes) for me in (1.2, 100.0)}
    with_, without = got[1.2], got[100.0]
    assert with_["line_exact"] >= 0.7 and with_["line_exact"] >= without["line_exact"] + 0.05, got
    assert with_["recall"] >= without["recall"] + 0.02 and with_["precision"] >= 0.95, got
