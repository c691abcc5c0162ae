"""The photo-like scene generator's own guarantees."""

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
