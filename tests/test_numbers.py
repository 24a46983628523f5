"""One number formatter for the report, the CLI and the window."""

from __future__ import annotations

import numpy as np

from reelscope.core.numbers import format_count, format_likes, format_number, format_percent


def test_likes_round_for_people():
    assert [format_likes(x) for x in (9870, 12_345, 558_300, 1_234_567, np.float64(99.6))] == \
        ["9,870", "12.3k", "558k", "1.2M", "100"]
    assert format_likes(None) == format_likes(float("nan")) == format_likes(np.inf) == "–"


def test_numbers_use_a_true_minus_and_dash_when_unknown():
    assert format_number(-0.123, 2) == "−0.12"
    assert format_number(1.4, 2, "×") == "1.40×"
    assert format_number(None, 2) == format_number(np.nan, 2) == "–"
    assert format_percent(0.834) == "83 %" and format_percent(None) == "–"
    assert format_count(12345) == "12,345" and format_count(None) == "–"
