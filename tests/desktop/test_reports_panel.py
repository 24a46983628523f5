"""The Reports view writes what `reelscope report` and `reelscope export` write, opens the
file when done (through an injected opener here), lists the library's reports, and a
cancelled export leaves no file behind."""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest

from conftest import wait_drawn

from reelscope.core.cli.main import main
from reelscope.desktop.reports_panel import NO_RUN, default_name


@pytest.fixture
def reports(window, synthetic_library, tmp_path, qtbot):
    """The Reports view on a copy of the synthetic library (exports write into it), with
    an opener that records paths instead of opening them."""
    root = tmp_path / "lib"
    shutil.copytree(synthetic_library, root)
    assert window.open_library(root, view="reports")
    panel = window.show_view("reports")
    panel.opened_paths = []
    panel.opener = panel.opened_paths.append
    wait_drawn(qtbot, window)
    return panel


def choose(panel, fmt: str, what: str = "scores") -> None:
    panel.format_box.setCurrentIndex(panel.format_box.findData(fmt))
    panel.what_box.setCurrentIndex(panel.what_box.findData(what))


def run_export(panel, qtbot):
    panel.export_button.click()
    assert panel.job is not None
    qtbot.waitUntil(lambda: not panel.job.running, timeout=60_000)
    return panel.job


def test_html_report_into_the_library_then_listed_and_opened(reports, qtbot):
    choose(reports, "html")
    out = reports.session.path / "reports" / default_name("html", "scores")
    assert reports.path_edit.text() == str(out)
    job = run_export(reports, qtbot)
    assert job.outcome == "succeeded", job.error
    assert reports.opened_paths == [out]
    text = out.read_text(encoding="utf-8")
    assert len(text) > 1000 and "<html" in text.lower()
    qtbot.waitUntil(lambda: reports.reports.topLevelItemCount() == 1)
    item = reports.reports.topLevelItem(0)
    assert (item.text(0), item.text(1)) == (out.name, "HTML report") and item.text(2).endswith("KB")
    reports.reports.itemDoubleClicked.emit(item, 0)
    assert reports.opened_paths == [out, out]


def test_csv_has_the_header_of_reelscope_export(reports, qtbot, tmp_path):
    choose(reports, "csv", "scores")
    assert reports.path_edit.text().endswith(".csv") and reports.what_box.isEnabled()
    out = tmp_path / "mine.csv"
    reports.path_edit.setText(str(out))
    job = run_export(reports, qtbot)
    assert job.outcome == "succeeded", job.error
    assert reports.opened_paths == [out]
    cli = tmp_path / "cli.csv"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["export", "--library", str(reports.session.path), "--what", "scores",
                     "--out", str(cli), "--quiet"]) == 0
    mine, theirs = out.read_text().splitlines(), cli.read_text().splitlines()
    assert mine[0] == theirs[0] and mine[0].startswith("id,originality,likes")
    assert len(mine) == len(theirs) == 121


def test_cancel_leaves_no_file(reports, qtbot, tmp_path):
    choose(reports, "pdf")
    out = tmp_path / "cancelled.pdf"
    reports.path_edit.setText(str(out))
    reports.export_button.click()
    assert reports.cancel_button.isVisible()
    reports.cancel_button.click()
    qtbot.waitUntil(lambda: not reports.job.running, timeout=60_000)
    assert reports.job.outcome == "cancelled"
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if "cancelled" in p.name] == []
    assert reports.opened_paths == []
    assert reports.message.text().startswith("Cancelled")
    assert reports.export_button.isEnabled() and not reports.cancel_button.isVisible()


def test_without_a_run_the_view_says_train_first(window, qtbot, tmp_path):
    from test_cli_analytics import build_library

    build_library(tmp_path / "bare", n=12, runs=()).close()
    assert window.open_library(tmp_path / "bare", view="reports")
    panel = window.show_view("reports")
    wait_drawn(qtbot, window)
    assert panel.stack.currentWidget() is panel.empty
    assert panel.empty.label.text() == NO_RUN
