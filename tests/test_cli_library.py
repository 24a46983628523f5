"""The library commands as a script sees them: exit codes and stable JSON keys."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import make_clip
from reelscope.core.cli.main import build_parser, main
from reelscope.core.store.library import Library


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reelscope", *args], capture_output=True,
                          text=True, timeout=300)


def test_help_lists_the_library_commands():
    text = build_parser().format_help()
    for command in ("demo", "import", "info"):
        assert command in text


def test_import_and_info_json_keys(tmp_path, capsys):
    src = tmp_path / "src"
    make_clip(src / "1.mp4")
    (src / "2.mp4").write_bytes(b"")
    lib = tmp_path / "lib"
    assert main(["import", str(src), "--library", str(lib), "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["videos"] == {"imported": 1, "failed": 1}
    assert out["errors"] == [{"path": str(src / "2.mp4"), "reason": out["errors"][0]["reason"]}]
    assert "0 bytes" in out["errors"][0]["reason"]

    assert main(["info", "--library", str(lib), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["videos"] == {"imported": 1, "failed": 1}
    assert info["runs"] == [] and len(info["errors"]) == 1


def test_whole_job_failures_exit_non_zero_with_a_clear_message(tmp_path):
    missing = _run("import", str(tmp_path / "nope"), "--library", str(tmp_path / "lib"))
    assert missing.returncode != 0 and "is not a folder" in missing.stderr
    not_lib = _run("info", "--library", str(tmp_path))
    assert not_lib.returncode == 1 and "not a Reelscope library" in not_lib.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.mp4").write_text("nope")
    all_bad = _run("import", str(bad), "--library", str(tmp_path / "lib2"), "--json", "--quiet")
    assert all_bad.returncode == 1
    assert json.loads(all_bad.stdout)["videos"] == {"imported": 0, "failed": 1}


def test_console_script_and_module_entry_point_agree():
    res = _run("--help")
    assert res.returncode == 0 and "import" in res.stdout


def test_demo_generates_and_imports_with_bad_files_reported(tmp_path, capsys):
    code = main(["demo", "--dir", str(tmp_path / "d"), "--videos", "10", "--no-train",
                 "--no-window", "--json", "--quiet"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stages"] == ["generate", "import"]
    held = out["held_back"]  # kept out of the library to be checked as drafts after training
    assert 1 <= len(held) <= 3 and out["import"]["videos"]["imported"] == 10 - len(held)
    library_ids = {v.id for v in Library.open(tmp_path / "d" / "library").videos()}
    assert not library_ids & set(held)
    reasons = " | ".join(e["reason"] for e in out["import"]["errors"])
    for expected in ("0 bytes", "not a media file", "no video stream", "no video file"):
        assert expected in reasons


@pytest.mark.slow
def test_demo_checks_its_held_back_videos_as_drafts(tmp_path, capsys):
    """The first command a user runs ends with the draft check: forecasts beside real likes."""
    code = main(["demo", "--dir", str(tmp_path / "d"), "--videos", "24", "--drafts", "3",
                 "--preset", "tiny", "--time-budget", "0.05", "--no-window", "--json", "--quiet"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stages"][-2:] == ["drafts", "report"]
    truth = json.loads((tmp_path / "d" / "source" / "ground_truth.json").read_text())["videos"]
    drafts = out["drafts"]
    assert [d["id"] for d in drafts] == out["held_back"] and len(drafts) == 3
    for d in drafts:
        assert d["error"] is None and d["likes"] == truth[d["id"]]["likes"]["likes"]
        assert 0 <= d["low"] <= d["forecast"] <= d["high"] and d["inside"] == (d["low"] <= d["likes"] <= d["high"])
    library_ids = {v.id for v in Library.open(tmp_path / "d" / "library").videos()}
    assert not library_ids & set(out["held_back"])  # predicted without joining the library

    from reelscope.demo.drafts import format_drafts

    lines = format_drafts(drafts)
    assert "real likes" in lines[1] and all(d["id"] in "\n".join(lines) for d in drafts)
    assert lines[-1].startswith("  Real likes inside the interval:")


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    import reelscope.core.cli.library as cli_library

    def broken(library):
        raise ZeroDivisionError("a bug")

    Library.create(tmp_path / "lib").close()
    monkeypatch.setattr(cli_library, "library_summary", broken)
    assert main(["info", "--library", str(tmp_path / "lib")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected error: ZeroDivisionError: a bug" in err and "--debug" in err
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "info", "--library", str(tmp_path / "lib")])
