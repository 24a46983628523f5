"""Check a draft on a real trained library: one row per draft with core's forecast and
explanation, a broken file's error in its row, hashtags copied as "#tag ...", library
authors' statistics, and Add to library importing the draft.

The library is built once for the module, as ``reelscope`` would: a small generated demo
(real H.264/AAC files with metadata), imported, trained (tiny preset, one epoch) and
analysed in-process, with two videos held back as drafts.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import wait_drawn

CHECK_MS = 90_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    from reelscope.core.cli.main import main
    from reelscope.demo.generator import DemoSpec, generate_demo

    root = tmp_path_factory.mktemp("drafts")
    demo = generate_demo(root / "source", DemoSpec(videos=30, seed=3, min_s=1.0, max_s=1.4), workers=2)
    truth = json.loads(demo.ground_truth_path.read_text())["videos"]
    drafts_dir = root / "drafts"
    drafts_dir.mkdir()
    drafts = [Path(shutil.move(str(demo.videos_dir / f"{vid}.mp4"), str(drafts_dir / f"{vid}.mp4")))
              for vid in sorted(v for v, t in truth.items() if t["has_audio"])[:2]]
    broken = drafts_dir / "<b>broken.mp4"  # user text: shown literally
    broken.write_text("not a video")
    lib = root / "library"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["import", str(demo.videos_dir), "--metadata", str(demo.metadata_path),
                     "--library", str(lib), "--workers", "1", "--json", "--quiet"]) == 0
        shutil.copytree(lib, root / "untrained")
        assert main(["train", "--library", str(lib), "--preset", "tiny", "--epochs", "1", "--json", "--quiet"]) == 0
        assert main(["analyze", "--library", str(lib), "--json", "--quiet"]) == 0
    return {"root": root, "library": lib, "untrained": root / "untrained", "drafts": drafts, "broken": broken}


def _copy(trained: dict, name: str) -> Path:
    target = trained["root"] / name
    shutil.copytree(trained["library"], target)
    return target


def _check(panel, qtbot, files, followers=None) -> None:
    panel.add_files(files)
    if followers is not None:
        panel.spins["followers"].setValue(followers)
    qtbot.waitUntil(lambda: panel.state is not None and panel.check_button.isEnabled(), timeout=10_000)
    panel.check_button.click()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=CHECK_MS)


def test_each_draft_shows_cores_forecast_and_a_broken_file_its_error(window, trained, qtbot):
    from reelscope.core.analytics.predict import predict_files
    from reelscope.core.store.library import Library
    from reelscope.desktop.widgets import likes_text

    lib = _copy(trained, "check")
    assert window.open_library(lib)
    panel = window.show_view("draft")
    wait_drawn(qtbot, window)
    assert panel.inner.currentIndex() == 0  # nothing dropped yet
    assert panel.drop_hint.label.text() == "Drop videos here or Choose videos…"
    files = trained["drafts"] + [trained["broken"]]
    _check(panel, qtbot, files, followers=5000)

    assert panel.table.rowCount() == 3
    with Library.open(lib) as library:
        expected = predict_files(library, files, author=panel.author_stats())
    assert panel.author_stats()["followers"] == 5000
    for row, want in enumerate(expected[:2]):
        likes = want["likes"]
        assert likes["low"] <= likes["forecast"] <= likes["high"]
        assert panel.table.item(row, 1).text() == likes_text(likes["forecast"])
        assert panel.table.item(row, 2).text() == f"{likes_text(likes['low'])}–{likes_text(likes['high'])}"
        assert panel.table.item(row, 3).text() == f"{want['originality']:.0f} / 100"
        assert panel.table.item(row, 5).text().startswith("Checked")
        panel.table.selectRow(row)
        assert panel.explanation.text() == likes["explanation"]["text"]
        assert "Videos by authors like this one" in panel.explanation.text()  # the followers were used
        assert want["originality_reasons"] and want["originality_reasons"] in panel.originality.text()
        qtbot.waitUntil(lambda: panel.gallery.count() == len(want["similar"]), timeout=10_000)
        assert panel.gallery.ids() == [s["id"] for s in want["similar"]]
    assert "error" in expected[2]
    status = panel.table.item(2, 5).text()
    assert status == "Cannot check: " + expected[2]["error"] and "not a media file" in status
    assert panel.table.item(2, 0).text() == "<b>broken.mp4"
    panel.table.selectRow(2)
    assert panel.detail_title.text() == "<b>broken.mp4"
    assert panel.explanation.text().startswith("This file cannot be checked")


def test_copy_hashtags_and_generic_tags_apart(window, trained, qtbot):
    from PySide6.QtGui import QGuiApplication

    assert window.open_library(trained["library"])
    panel = window.show_view("draft")
    _check(panel, qtbot, trained["drafts"][:1])
    panel.table.selectRow(0)
    tags = panel.drafts[0].result["hashtags"]
    assert tags, "the analysed library suggests hashtags"
    topical = [t["tag"] for t in tags if not t["generic"]]
    generic = [t["tag"] for t in tags if t["generic"]]
    assert [panel.tag_table.item(r, 0).text() for r in range(panel.tag_table.rowCount())] == \
        ["#" + t for t in topical]
    for t in generic:
        assert "#" + t in panel.generic.text()
    first = next(t for t in tags if not t["generic"])
    assert panel.tag_table.item(0, 1).text().startswith(f"{first['similar_videos']} similar video")
    panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == " ".join("#" + t for t in topical + generic)


def test_an_authors_statistics_fill_the_numbers(window, trained, qtbot):
    from reelscope.core.store.library import Library

    assert window.open_library(trained["library"])
    panel = window.show_view("draft")
    wait_drawn(qtbot, window)
    with Library.open(trained["library"], read_only=True) as library:
        authors = {v.author.id: v.author for v in library.videos() if v.author}
    assert panel.author_combo.count() == len(authors) + 1
    panel.author_combo.setCurrentIndex(1)
    chosen = authors[panel.author_combo.currentData().id]
    assert panel.author_stats() == {"followers": chosen.followers, "following": chosen.following,
                                    "hearts": chosen.hearts, "videos": chosen.video_count}
    assert panel.author_combo.currentText().startswith("@")
    panel.spins["followers"].setValue(123)  # typed numbers are nobody's
    assert panel.author_combo.currentIndex() == 0


def test_add_to_library_imports_the_draft(window, trained, qtbot):
    from reelscope.core.store.library import Library

    lib = _copy(trained, "add")
    assert window.open_library(lib)
    panel = window.show_view("draft")
    draft = trained["drafts"][1]
    _check(panel, qtbot, [draft])
    assert panel.add_button.isEnabled()
    with qtbot.waitSignal(window.session.data_changed, timeout=CHECK_MS):
        panel.add_button.click()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=CHECK_MS)
    video_id = panel.drafts[0].added
    assert video_id
    assert panel.table.item(0, 5).text() == f"In the library as {video_id}"
    with Library.open(lib, read_only=True) as library:
        assert Path(library.get(video_id).path) == draft.resolve()
    assert not panel.add_button.isEnabled()


def test_show_file_checks_at_once_and_a_drop_adds_drafts(window, trained, qtbot):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    assert window.open_library(trained["library"])
    window.show_view("draft", file=str(trained["drafts"][0]))
    panel = window.current_panel()
    assert panel.busy()
    qtbot.waitUntil(lambda: not window.busy(), timeout=CHECK_MS)
    assert panel.drafts[0].checked and panel.table.item(0, 5).text().startswith("Checked")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(trained["drafts"][1]))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    panel.dropEvent(event)
    assert panel.table.rowCount() == 2
    assert panel.table.item(1, 0).text() == trained["drafts"][1].name
    assert panel.table.item(1, 5).text() == "Not checked yet"


def test_no_training_run_offers_to_train(window, trained, qtbot):
    assert window.open_library(trained["untrained"])
    panel = window.show_view("draft")
    wait_drawn(qtbot, window)
    assert panel.outer.currentIndex() == 0
    assert panel.no_run.label.text() == "No training run yet — Train now"
    panel.no_run.button.click()
    assert window.current_panel().name == "training"


def test_a_tags_evidence_names_the_same_sound_and_the_author():
    from reelscope.desktop.draft_panel import hashtag_evidence

    text = hashtag_evidence({"tag": "x", "similar_videos": 2, "sound_videos": 5, "author_videos": 1,
                             "lift": 3.0, "share": 0.1})
    assert "5 videos on the same sound use it" in text and "the author used it 1 time" in text
    assert "same sound" not in hashtag_evidence({"tag": "x", "similar_videos": 2, "sound_videos": None})
