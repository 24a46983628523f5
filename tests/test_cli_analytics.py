"""CLI round trips for similar, analyze, evaluate, predict, export and report on a small
synthetic library (no media decoding: embeddings are written directly)."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest

from reelscope.core.cli.main import main
from reelscope.core.store.embeddings import Embeddings, save_embeddings
from reelscope.core.store.library import Library
from reelscope.core.store.models import Author, PostMetadata, Sound, TrainingRun

INJECTED = '<script>alert("x")</script> & $5 deal'
QUOTED_TAG = 'say"hi"'


def build_library(root: Path, n: int = 120, seed: int = 0, runs: tuple[str, ...] = ("run-a",)
                  ) -> Library:
    """Videos in 4 content clusters with cluster hashtags (+ a generic #fyp on 60 %),
    6 sounds shared through the audio embedding, likes from followers and cluster."""
    rng = np.random.default_rng(seed)
    lib = Library.create(root)
    cluster = rng.integers(0, 4, n)
    sound = rng.integers(0, 6, n)
    author = rng.integers(0, 15, n)
    followers = np.exp(rng.normal(9, 1.2, 15)).astype(int)
    ids = [f"v{i:03d}" for i in range(n)]
    records, rows = [], []
    for i, vid in enumerate(ids):
        tags = [f"topic{cluster[i]}", f"niche{cluster[i]}"]
        if rng.random() < 0.6:
            tags.append("fyp")
        if i % 10 == 0:
            tags.append(QUOTED_TAG)
        log_likes = 0.7 * np.log1p(followers[author[i]]) + 0.8 * cluster[i] + rng.normal(0, 0.4)
        a = int(author[i])
        records.append(PostMetadata(
            id=vid, source="test", description=INJECTED if i == 0 else f"video {i} #{tags[0]}",
            posted_at=1_700_000_000 + i * 3600 * 7,
            author=Author(f"a{a}", f"user{a}", None, int(followers[a]), 100 + a, 10 * int(followers[a]),
                          50 + a),
            sound=Sound(f"s{sound[i]}", f"Song {sound[i]}"), likes=int(np.expm1(log_likes)),
            duration=15.0 + i % 30, hashtags=tuple(tags)))
        rows.append({"id": vid, "path": str(root / f"{vid}.mp4"), "content_hash": f"{i:02d}hash{vid}",
                     "status": "ok", "duration": 15.0 + i % 30})
    lib.save_metadata(records)
    lib.db["videos"].insert_all(rows)
    _thumbs(lib, rows[:: 7])
    centres = rng.normal(size=(4, 16))
    sounds = rng.normal(size=(6, 8))
    for r, run_id in enumerate(runs):
        noise = 0.5 + r  # a later run is worse: more noise around the cluster centres
        visual = centres[cluster] + noise * rng.normal(size=(n, 16))
        audio = sounds[sound] + 0.05 * rng.normal(size=(n, 8))
        fused = np.concatenate([visual / 4, audio], axis=1)
        run_dir = root / "runs" / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        save_embeddings(run_dir, Embeddings(run_id, np.array(ids), visual, audio, fused))
        lib.save_run(TrainingRun(run_id, "av-simclr", "tiny", "finished", time.time() + r,
                                 f"runs/{run_id}", finished_at=time.time() + r))
    return lib


def _thumbs(lib: Library, rows: list[dict]) -> None:
    from PIL import Image

    for k, row in enumerate(rows):
        path = lib.cache.thumb_path(row["content_hash"])
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.new("RGB", (90, 160), (40 * k % 255, 120, 200 - 20 * k % 200))
        img.save(path, format="JPEG")


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lib")
    build_library(root, runs=("run-a", "run-b")).close()
    return root


def run_json(capsys, *argv: str) -> object:
    code = main([*argv, "--json", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_analyze_then_similar(library_dir, capsys):
    summary = run_json(capsys, "analyze", "--library", str(library_dir), "--run", "run-a")
    assert summary["run"] == "run-a" and summary["videos"] == 120
    models = summary["forecast"]["comparison"]["models"]
    assert models["full"]["r2"] > models["author"]["r2"]
    assert summary["hashtags"]["evaluation"]["methods"]["combined"]["precision@3"] > \
        summary["hashtags"]["evaluation"]["methods"]["frequency"]["precision@3"]
    folder = library_dir / "runs" / "run-a" / "analytics"
    assert {"summary.json", "scores.npz", "forecast.npz", "hashtags.npz"} <= \
        {p.name for p in folder.iterdir()}
    with np.load(folder / "scores.npz", allow_pickle=False) as z:
        assert z["originality"].min() >= 0 and z["originality"].max() <= 100

    hits = run_json(capsys, "similar", "v005", "--library", str(library_dir), "--run", "run-a", "-k", "4")
    assert len(hits) == 4 and all(set(h) >= {"id", "score"} for h in hits)
    assert "v005" not in [h["id"] for h in hits]
    assert hits[0]["score"] >= hits[-1]["score"]


def test_evaluate_compares_runs(library_dir, capsys, tmp_path):
    labels = tmp_path / "labels.json"
    lib = Library.open(library_dir)
    labels.write_text(json.dumps({v.id: v.hashtags[-1] if "topic" in v.hashtags[-1] else
                                  next(t for t in v.hashtags if t.startswith("topic"))
                                  for v in lib.videos()}))
    lib.close()
    out = run_json(capsys, "evaluate", "--library", str(library_dir), "--labels", str(labels),
                   "--kinds", "visual", "audio")
    assert [r["run"] for r in out["runs"]] == ["run-a", "run-b"]
    by = {(r["run"], r["kind"]): r for r in out["comparison"]}
    # the cleaner run's visual embedding probes the topic better; audio finds same-sound videos
    assert by[("run-a", "visual")]["probe_accuracy"] > by[("run-b", "visual")]["probe_accuracy"]
    assert by[("run-a", "visual")]["probe_accuracy"] > 0.8
    assert by[("run-a", "audio")]["retrieval_map"] > 0.9
    kinds = out["runs"][0]["kinds"]["visual"]
    assert kinds["retrieval"]["random_map"] < 0.3
    assert set(kinds["forecast"]["models"]) == {"author", "content", "full"}
    assert "precision@5" in kinds["hashtags"]["methods"]["combined"]

    out = run_json(capsys, "evaluate", "--library", str(library_dir), "--run", "run-a",
                   "--label", "author", "--kinds", "fused")
    assert len(out["comparison"]) == 1 and out["label"] == "author"


def test_export_scores_and_embeddings(library_dir, capsys, tmp_path):
    run_json(capsys, "export", "--library", str(library_dir), "--what", "scores",
             "--out", str(tmp_path / "scores.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "scores.csv").read_text())))
    assert len(rows) == 120
    assert {"id", "originality", "likes", "like_forecast", "like_low", "like_high"} <= set(rows[0])
    assert all(float(r["like_low"]) <= float(r["like_forecast"]) <= float(r["like_high"]) for r in rows)

    info = run_json(capsys, "export", "--library", str(library_dir), "--what", "embeddings",
                    "--out", str(tmp_path / "emb.npz"), "--run", "run-a")
    assert info["rows"] == 120
    with np.load(tmp_path / "emb.npz", allow_pickle=False) as z:
        assert set(z.files) == {"ids", "visual", "audio", "fused"}
        assert z["visual"].shape == (120, 16) and z["ids"][0] == "v000"
    run_json(capsys, "export", "--library", str(library_dir), "--what", "embeddings",
             "--out", str(tmp_path / "emb.csv"))
    header = (tmp_path / "emb.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "id" and "visual_0" in header and "fused_23" in header


def stub_encoder(monkeypatch, library_dir: Path, tmp_path: Path) -> list[Path]:
    """Two undecodable "new files" whose embedding step (one call in predict) returns the
    vectors of library videos 3 and 4, nudged; returns the files."""
    import reelscope.core.analytics.predict as predict

    emb = np.load(library_dir / "runs" / "run-a" / "embeddings.npz")
    files = [tmp_path / "new1.mp4", tmp_path / "new2.mp4"]
    for f in files:
        f.write_bytes(b"not decoded in this test")

    class Decoded:
        info = type("Info", (), {"duration": 20.0})()
        warnings: list[str] = []

    def fake_embed(library, run_id, paths, progress=None, cancel=None):
        return [(Decoded(), {k: emb[k][3 + j] + 1e-3 for k in ("visual", "audio", "fused")})
                for j, _ in enumerate(paths)]

    monkeypatch.setattr(predict, "embed_files", fake_embed)
    return files


def test_predict_with_stubbed_encoder(library_dir, capsys, tmp_path, monkeypatch):
    """predict's embedding step is one call; replace it by vectors of known library videos."""
    files = stub_encoder(monkeypatch, library_dir, tmp_path)
    before = (library_dir / "library.db").stat().st_mtime_ns
    out = run_json(capsys, "predict", *map(str, files), "--library", str(library_dir),
                   "--run", "run-a", "--followers", "20000", "--following", "10",
                   "--author-likes", "300000", "--author-videos", "40", "-k", "5")
    assert [r["file"] for r in out] == list(map(str, files))
    r = out[0]
    assert r["likes"]["low"] <= r["likes"]["forecast"] <= r["likes"]["high"]
    assert r["likes"]["coverage"] == 0.8 and r["likes"]["model"] == "full"
    assert "Videos by authors like this one" in r["likes"]["explanation"]["text"]
    assert r["similar"][0]["id"] == "v003" and len(r["similar"]) == 5
    assert 0 <= r["originality"] <= 100
    assert r["hashtags"] and all("#" not in t["tag"] and "score" in t for t in r["hashtags"])
    assert (library_dir / "library.db").stat().st_mtime_ns == before  # library unchanged

    hits = run_json(capsys, "similar", str(files[1]), "--library", str(library_dir), "--run",
                    "run-a", "-k", "3")
    assert hits[0]["id"] == "v003" and hits[0]["score"] > 0.99  # the stub embeds it next to v003


def test_report_html_and_pdf(library_dir, capsys, tmp_path):
    run_json(capsys, "report", "--library", str(library_dir), "--run", "run-a",
             "--out", str(tmp_path / "r.html"))
    text = (tmp_path / "r.html").read_text()
    assert "<script>" not in text and "#say&quot;hi" in text  # the hashtag table, escaped
    run_json(capsys, "report", "--library", str(library_dir), "--run", "run-a",
             "--out", str(tmp_path / "r.pdf"))
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_clear_errors(tmp_path, capsys):
    assert main(["analyze", "--library", str(tmp_path / "nope"), "--quiet"]) == 1
    assert "not a Reelscope library" in capsys.readouterr().err
    Library.create(tmp_path / "empty").close()
    assert main(["analyze", "--library", str(tmp_path / "empty"), "--quiet"]) == 1
    assert "reelscope train" in capsys.readouterr().err
    assert main(["report", "--library", str(tmp_path / "empty"), "--out", "x.docx"]) == 1
    assert main(["similar", "v1", "--library", str(tmp_path / "empty")]) == 1
    assert "reelscope train" in capsys.readouterr().err


def test_predict_add_imports_and_embeds(tmp_path, capsys, monkeypatch):
    """--add imports the file (id from --metadata) and stores its vectors with the run's, so a
    later `similar` finds it; the stub encoder places it next to v007."""
    import reelscope.core.analytics.predict as predict
    from reelscope.core.store.embeddings import load_embeddings
    from tests.media_fixtures import make_video

    root = tmp_path / "lib"
    build_library(root, n=40).close()
    new_id = "7300000000000000001"
    clip = make_video(tmp_path / f"clip_{new_id}.mp4", frames=20)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps([{
        "id": new_id, "desc": "new #topic1", "createTime": 1_700_500_000,
        "author": {"id": "a1", "uniqueId": "user1"},
        "authorStats": {"followerCount": 5000, "heartCount": 50000, "videoCount": 30},
        "stats": {"diggCount": 120}, "video": {"duration": 2}}]))
    stored = load_embeddings(Library.open(root), "run-a")
    near = {k: stored.kind(k)[7] + 1e-3 for k in ("visual", "audio", "fused")}

    class Decoded:
        info = type("Info", (), {"duration": 2.0})()
        warnings: list[str] = []

    monkeypatch.setattr(predict, "embed_files",
                        lambda library, run_id, paths, progress=None, cancel=None:
                        [(Decoded(), near) for _ in paths])
    out = run_json(capsys, "predict", str(clip), "--library", str(root), "--run", "run-a",
                   "--metadata", str(meta), "--add", "-k", "3")
    assert set(out[0]) >= {"file", "id", "likes", "hashtags", "similar", "originality", "warnings"}
    assert out[0]["id"] == new_id and not out[0]["warnings"]
    assert out[0]["similar"][0]["id"] == "v007"  # predicted before it joined the library

    lib = Library.open(root)
    try:
        assert new_id in [v.id for v in lib.videos()] and len(lib.videos()) == 41
        assert lib.get(new_id).likes == 120  # its metadata came along
        emb = load_embeddings(lib, "run-a")
        assert list(emb.ids.astype(str)) == [v.id for v in lib.videos()]  # library order
        unit = near["audio"] / np.linalg.norm(near["audio"])  # stored rows are L2-normalised
        np.testing.assert_allclose(emb.kind("audio")[emb.index_of()[new_id]], unit, rtol=1e-5)
        np.testing.assert_allclose(emb.kind("visual")[emb.index_of()["v007"]], stored.kind("visual")[7],
                                   rtol=1e-6)
    finally:
        lib.close()
    hits = run_json(capsys, "similar", "v007", "--library", str(root), "--run", "run-a", "-k", "1")
    assert hits[0]["id"] == new_id


def test_analyze_reports_progress_inside_its_steps_and_stops_between_detectors(tmp_path):
    """Cancel is honoured inside the originality step (between detectors), not only between
    analyses; nothing is stored by a cancelled analysis."""
    from reelscope.core.analytics.analyze import analyze, load_analysis
    from reelscope.core.progress import CancelToken, Cancelled

    lib = build_library(tmp_path / "lib")
    events, token = [], CancelToken()

    def progress(event):
        events.append(event)
        if event.message.startswith("originality: ") and len(
                [e for e in events if e.message.startswith("originality: ")]) == 2:
            token.cancel()  # after the first detector

    with pytest.raises(Cancelled):
        analyze(lib, "run-a", progress=progress, cancel=token)
    inner = [e.message for e in events if e.message.startswith("originality: ")]
    assert len(inner) == 2  # stopped at the second detector's tick, before fitting it
    assert load_analysis(lib, "run-a") is None  # nothing half-written counts as an analysis
    events.clear()
    analyze(lib, "run-a", progress=events.append)
    messages = [e.message for e in events]
    assert any(m.startswith("originality: bootstrap") for m in messages)
    assert sum(m.startswith("originality: ") and "bootstrap" not in m for m in messages) >= 3


@pytest.mark.parametrize("argv, says", [
    (["analyze", "--coverage", "5"], "between 0 and 1"),
    (["analyze", "--coverage", "-1"], "between 0 and 1"),
    (["similar", "v001", "-k", "-1"], "at least 1"),
    (["predict", "x.mp4", "--followers", "-5"], "at least 0"),
    (["import", ".", "--workers", "0"], "at least 1"),
    (["train", "--epochs", "zero"], "not a whole number"),
])
def test_out_of_range_options_are_usage_errors(library_dir, capsys, argv, says):
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--library", str(library_dir)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and says in err and "Traceback" not in err


def test_scripts_get_the_same_checks(library_dir):
    from reelscope.core.analytics.analyze import analyze
    from reelscope.core.analytics.similar import similar_videos

    with Library.open(library_dir) as lib:
        with pytest.raises(ValueError, match="between 0 and 1"):
            analyze(lib, "run-a", coverage=5)
        with pytest.raises(ValueError, match="at least 1"):
            similar_videos(lib, "v001", k=0, run_id="run-a")


def test_exported_csv_cells_never_run_as_formulas(tmp_path, capsys):
    """User text that a spreadsheet would execute (=, +, -, @) is exported inert."""
    from reelscope.core.report.export import safe_cell

    for text in ("=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "\tx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("plain caption") == "plain caption"
    root = tmp_path / "lib"
    lib = build_library(root, n=40)
    lib.db.execute("UPDATE authors SET unique_id = '=cmd|calc' WHERE id = 'a0'")
    lib.close()
    out = tmp_path / "scores.csv"
    assert main(["export", "--library", str(root), "--run", "run-a", "--what", "scores", "--out", str(out),
                 "--quiet"]) == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "=cmd|calc" in text and not any(cell.startswith("=") for line in csv.reader(io.StringIO(text))
                                            for cell in line)


def test_evaluate_gives_the_suggester_the_stored_sound_groups(tmp_path, monkeypatch):
    """evaluate's hashtag precision is measured with the same evidence analyze and predict
    use: each video's sound group from the run's stored analysis (none before analyze)."""
    import numpy as np

    from reelscope.core.analytics import hashtags
    from reelscope.core.analytics.analyze import analyze, load_analysis
    from reelscope.core.analytics.evaluate import evaluate_library

    lib = build_library(tmp_path / "lib")
    seen = []
    real = hashtags.evaluate_hashtags

    def spy(*args, **kwargs):
        seen.append(kwargs.get("sounds"))
        return real(*args, **kwargs)

    monkeypatch.setattr(hashtags, "evaluate_hashtags", spy)
    evaluate_library(lib, ["run-a"], kinds=("fused",))
    assert seen == [None]
    analyze(lib, "run-a")
    seen.clear()
    evaluate_library(lib, ["run-a"], kinds=("fused",))
    stored = load_analysis(lib, "run-a").scores
    labels = set(float(x) for x in stored["sound_cluster"])
    assert seen[0] is not None and len(seen[0]) >= 20  # one per tagged video
    assert all(x is not None and not np.isnan(x) and float(x) in labels for x in seen[0])
