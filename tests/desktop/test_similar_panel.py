"""The Similar videos view: the stored neighbours of the selected video in order with their
scores, audio neighbours once that index is built, click-through with Back/Forward, a
file from outside the library, and galleries other views hand over."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt

from conftest import wait_drawn

from reelscope.core.query import video_detail
from reelscope.desktop.similar_panel import NO_RUN, NO_VIDEO
from reelscope.desktop.widgets import likes_text


@pytest.fixture
def own(window, synthetic_library, tmp_path):
    """The window on a copy of the synthetic library (a test here builds an index in it)."""
    root = tmp_path / "lib"
    shutil.copytree(synthetic_library, root)
    assert window.open_library(root)
    return window


def gallery_ready(qtbot, window, panel) -> None:
    wait_drawn(qtbot, window)
    qtbot.waitUntil(lambda: panel.gallery.count() > 0)


def captions(panel) -> list[str]:
    return [panel.gallery.item(i).text() for i in range(panel.gallery.count())]


def test_neighbours_of_the_selected_video_and_audio_ones(own, qtbot):
    from reelscope.core.analytics.similar import similar_videos

    panel = own.show_view("similar")
    panel.k_box.setValue(8)
    own.show_view("library")
    own.session.select("v005")  # chosen in another view
    own.show_view("similar")
    gallery_ready(qtbot, own, panel)
    library = own.session.library
    fused = video_detail(library, "v005", k=8).similar
    assert len(fused) == 8
    assert panel.gallery.ids() == [n.id for n in fused]
    assert captions(panel)[0] == (f"similarity {fused[0].score:.2f}\n{likes_text(fused[0].likes)} likes"
                                  f"\n@{library.get(fused[0].id).author.unique_id}")
    assert panel.card_title.text() == "v005" and "@user" in panel.card_subtitle.text()

    panel.set_kind("audio")  # analyze saved no audio index: the view offers to build it
    wait_drawn(qtbot, own)
    assert "audio similarity index" in panel.notice.label.text()
    assert panel.results.currentWidget() is panel.notice and panel.notice.button.isVisible()
    panel.notice.button.click()
    qtbot.waitUntil(lambda: not own.jobs.busy(), timeout=30_000)
    wait_drawn(qtbot, own)
    audio = similar_videos(library, "v005", 8, kind="audio")
    qtbot.waitUntil(lambda: panel.gallery.ids() == [vid for vid, _ in audio])
    assert panel.gallery.ids() != [n.id for n in fused]
    assert captions(panel)[-1].startswith(f"similarity {audio[-1][1]:.2f}")
    assert panel.results.currentWidget() is panel.gallery


def test_click_selects_double_click_follows_back_and_forward(opened, qtbot):
    panel = opened.show_view("similar", video="v010")
    gallery_ready(qtbot, opened, panel)
    first = panel.gallery.ids()
    rect = panel.gallery.visualItemRect(panel.gallery.item(1))
    qtbot.mouseClick(panel.gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.session.selected == first[1]
    assert panel.query == ("video", "v010") and panel.gallery.ids() == first  # only selected

    qtbot.mouseDClick(panel.gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: panel.card_title.text() == first[1])
    wait_drawn(qtbot, opened)
    assert panel.query == ("video", first[1]) and panel.back.isEnabled()
    want = [n.id for n in video_detail(opened.session.library, first[1], k=panel.k_box.value()).similar]
    assert panel.gallery.ids() == want

    panel.back.click()
    qtbot.waitUntil(lambda: panel.gallery.ids() == first)
    assert panel.card_title.text() == "v010" and panel.forward.isEnabled()
    panel.forward.click()
    qtbot.waitUntil(lambda: panel.gallery.ids() == want)


def test_a_handed_over_gallery_shows_exactly_its_ids(opened, qtbot):
    panel = opened.show_view("similar", video="v010")
    gallery_ready(qtbot, opened, panel)
    neighbours = panel.gallery.ids()
    opened.show_view("library")
    ids = ["v100", "v003", "v047"]
    opened.session.show_gallery("Lasso on the plot", ids)
    assert opened.current_panel() is panel
    qtbot.waitUntil(lambda: captions(panel) and "likes" in captions(panel)[0])
    wait_drawn(qtbot, opened)
    assert panel.gallery.ids() == ids
    assert panel.handed_title.text().startswith("Lasso on the plot")
    videos = {v: opened.session.library.get(v) for v in ids}
    assert captions(panel) == [f"{likes_text(videos[v].likes)} likes\n@{videos[v].author.unique_id}"
                               for v in ids]
    panel.back_to_similar.click()
    qtbot.waitUntil(lambda: panel.gallery.ids() == neighbours)


def test_find_videos_like_a_file(opened, qtbot, tmp_path, monkeypatch, synthetic_library):
    from reelscope.core.analytics.similar import similar_videos
    from reelscope.desktop import process_jobs

    from child_jobs import fake_file_job

    monkeypatch.setattr(process_jobs, "similar_file_job", fake_file_job)  # pickled by name for the child
    with np.load(synthetic_library / "runs" / "run-a" / "embeddings.npz") as z:
        fused = z["fused"][3] + 1e-3
    clip = tmp_path / "draft.mp4"
    clip.write_bytes(b"not decoded here")
    panel = opened.show_view("similar", file=str(clip))
    qtbot.waitUntil(lambda: opened.jobs.current is not None, timeout=30_000)
    job = opened.jobs.current
    assert job.process  # the embedding (torch) runs in a child process, never in the window
    if job.outcome is None:
        with qtbot.waitSignal(job.ended, timeout=120_000):
            pass
    assert job.outcome == "succeeded", job.error
    wait_drawn(qtbot, opened)
    qtbot.waitUntil(lambda: panel.gallery.count() > 0, timeout=30_000)
    want = similar_videos(opened.session.library, fused, panel.k_box.value())
    assert panel.gallery.ids() == [vid for vid, _ in want] and want[0][0] == "v003"
    assert panel.card_title.text() == "draft.mp4"
    assert not panel.busy_bar.isVisible()


def test_no_run_says_train_first(window, qtbot, tmp_path):
    from test_cli_analytics import build_library

    build_library(tmp_path / "bare", n=12, runs=()).close()
    assert window.open_library(tmp_path / "bare")
    panel = window.show_view("similar")
    wait_drawn(qtbot, window)
    assert panel.stack.currentWidget() is panel.empty
    assert panel.empty.label.text() == NO_RUN and panel.empty.button.text() == "Train now"


def test_nothing_selected_says_where_to_select(window, synthetic_library, qtbot):
    assert window.open_library(synthetic_library, view="reports")  # the video table selects nothing
    panel = window.show_view("similar")
    wait_drawn(qtbot, window)
    assert panel.stack.currentWidget() is panel.empty
    assert panel.empty.label.text() == NO_VIDEO


def test_sound_only_shows_the_note_matchers_neighbours_when_the_analysis_has_them(own, qtbot):
    """An analysis with sound prints keeps each video's matched sounds (planted here: the
    synthetic library has no audio); "Sound only" shows them and says what it compared."""
    from test_sound_similar import THRESHOLD, plant_sound_neighbours

    from reelscope.core.analytics.sound_similar import similarity
    from reelscope.desktop.similar_panel import basis_text

    plant_sound_neighbours(own.session.path, ["v005", "v040", "v041"], [[2, 1], [0, 2], [0, 1]],
                           [[9.0, 7.0], [9.0, 8.0], [7.0, 8.0]])
    own.session.select("v005")
    panel = own.show_view("similar")
    panel.set_kind("audio")
    gallery_ready(qtbot, own, panel)
    qtbot.waitUntil(lambda: panel.gallery.ids() == ["v041", "v040"])
    assert captions(panel)[0].startswith(f"similarity {similarity(9.0, THRESHOLD):.2f}")
    assert panel.basis.isVisible() and panel.basis.text() == basis_text("audio", True)
    panel.show_video("v006")  # not matched: the audio embedding answers (its index is built on request)
    wait_drawn(qtbot, own)
    assert "audio similarity index" in panel.notice.label.text() and not panel.basis.isVisible()
    panel.set_kind("visual")
    wait_drawn(qtbot, own)
    assert not panel.basis.isVisible()
