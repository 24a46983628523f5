"""Report: escaping of user text, PDF page count, charts without a display."""

from __future__ import annotations

import re

import numpy as np
import pytest

from reelscope.core.analytics.results import AnalysisSummary
from reelscope.core.report.content import ReportContent, VideoCard, findings
from reelscope.core.report.html import render_html
from reelscope.core.report.pdf import PDF_PAGES, render_pdf, save_previews
from reelscope.core.report.write import write_report

EVIL = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
TAG = 'best"deal\'s<b>'


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (90, 160), (200, 60, 90)).save(buf, format="JPEG")
    return buf.getvalue()


def content(n: int = 200) -> ReportContent:
    rng = np.random.default_rng(0)
    est = {"rho": -0.12, "ci_low": -0.25, "ci_high": -0.01, "p_value": 0.03}
    summary = {
        "format": 1, "run": "run-1", "method": "av-simclr", "created_at": 0.0, "source": {},
        "not_embedded": 0, "videos_with_hashtags": n,
        "kind": "fused", "videos": n, "videos_with_likes": n,
        "settings": {"split": "author", "coverage": 0.8, "random_state": 0},
        "originality": {"detectors": ["iforest"], "most_original": [], "least_original": [],
                        "vs_likes": {"n": n, "raw": est, "partial": dict(est, rho=-0.08)}},
        "forecast": {"comparison": {
            "split": "author", "n_test": 40, "coverage_nominal": 0.8, "reference_r2": 0.813,
            "models": {m: {"r2": r, "mae_log": 0.5, "spearman": 0.7, "coverage": 0.78, "interval_width_log": 1.0}
                       for m, r in (("author", 0.4), ("content", 0.3), ("full", 0.6))}}},
        "hashtags": {"table": [{"tag": TAG, "videos": 12, "share": 0.06, "median_likes": 900.0,
                                "like_lift": 1.4}],
                     "evaluation": {"methods": {"combined": {"precision@5": 0.4},
                                                "frequency": {"precision@5": 0.1}}}},
        "sounds": {"trends": [{"cluster": 0, "sound_id": "s1", "title": EVIL, "n_videos": 9,
                               "median_likes": 1500.0, "growth": 2.0, "video_ids": [], "first_use": None,
                               "last_use": None, "uses_first_third": 3, "uses_last_third": 6}]},
    }
    cards = [VideoCard(f"id{i}<b>", 99.0 - i, 1000.0 * i, EVIL if i == 0 else "$x$ and $y$",
                       f'author"{i}', _jpeg() if i % 2 == 0 else None) for i in range(5)]
    return ReportContent(
        library=f"shop {EVIL}", run={"id": "run-1", "method": "av-simclr", "preset": "tiny"},
        generated="2026-01-01 12:00", summary=AnalysisSummary.from_json(summary),
        originality=rng.uniform(0, 100, n), likes=np.exp(rng.normal(7, 1, n)),
        forecast=np.exp(rng.normal(7, 1, n)), most=cards, least=cards[::-1],
        runs=[{"run": "run-1", "method": "av-simclr", "forecast_r2": 0.6, "spearman": 0.7,
               "hashtag_p5": 0.4, "originality_rho": -0.12}])


def test_html_escapes_every_user_string():
    text = render_html(content())
    assert "<script" not in text and "onerror=alert" not in text.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in text
    assert "#best&quot;deal&#x27;s&lt;b&gt;" in text  # the hashtag with quotes
    assert "id0&lt;b&gt;" in text and "author&quot;0" in text
    assert "<img alt=\"id0&lt;b&gt;\" src=\"data:image/jpeg;base64," in text  # thumbnails inline
    assert "data:image/png;base64," in text  # the scatter
    assert not re.search(r"(src|href)=\"(https?:|file:|/)", text)  # self-contained


def test_pdf_has_expected_pages(tmp_path):
    out = tmp_path / "r.pdf"
    assert render_pdf(content(), out) == PDF_PAGES == 6
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == PDF_PAGES
    assert not list(tmp_path.glob(".*.tmp"))


def test_previews_render_without_display(tmp_path):
    paths = save_previews(content(), tmp_path, dpi=40)
    assert [p.name for p in paths] == [f"page-{i}.png" for i in range(1, 7)]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths)


def test_findings_in_plain_words():
    lines = findings(content().summary)
    assert lines[0].startswith("More original videos got slightly fewer likes")
    assert "0.813" in lines[1] and "R² = 0.60" in lines[1]
    assert "78 %" in lines[2]


def test_sounds_are_named_by_title_and_mislabelled_originals_counted():
    from dataclasses import replace

    from reelscope.core.analytics.results import SoundResult

    c = content()
    trend = c.summary.sounds.trends[0]
    trends = [trend, replace(trend, cluster=4, title=None, n_videos=3), replace(trend, cluster=7, n_videos=2)]
    c.summary = replace(c.summary, sounds=SoundResult(reused_clusters=3, videos_reusing_a_sound=14,
                                                      mislabelled_original=2, trends=trends))
    assert [r[0] for r in c.sound_rows()] == [f"{EVIL} #0", "Unnamed sound (3 videos)", f"{EVIL} #7"]
    assert c.sound_note() == ("3 sounds are reused by 14 videos, grouped by their audio whatever the "
                              "metadata says; 2 posts call a reused sound 'original sound'.")
    assert "2 posts call a reused sound &#x27;original sound&#x27;." in render_html(c)
    c.summary = replace(c.summary, sounds=SoundResult(reused_clusters=0, trends=[]))
    assert c.sound_note() == "No two videos share a sound (by their audio)."


def test_write_report_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="html or .pdf"):
        write_report(None, tmp_path / "r.docx")  # type: ignore[arg-type]


def test_old_import_path_still_serves_the_cli_and_scripts():
    from reelscope.core.numbers import format_likes as numbers_format_likes
    from reelscope.core.report import content

    assert content.write_report is write_report and content.render_html is render_html
    assert content.render_pdf is render_pdf and content.format_likes is numbers_format_likes
    assert callable(content.gather)
