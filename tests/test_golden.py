"""The CLI's machine-readable output, pinned: every command's ``--json`` (and the exported
CSV and NPZ) on small generated libraries, compared with golden files recorded before
core was reshaped into packages (issue 13). Scripts depend on these keys and values.

Floats compare within ``rel 1e-3, abs 1e-4`` (BLAS and thread counts differ between
machines); everything else exactly. Paths are written relative to the library, and
wall-clock fields (``seconds``, ``*_at``, file times ``*_ns``) are dropped. Commands that need a trained
encoder (``train``, ``embed``, ``predict FILE``, ``similar FILE``) have their *keys*
pinned, since their values depend on the machine's kernels.

Record again (only when an output is meant to change, and say so in the commit):

    REELSCOPE_RECORD_GOLDEN=1 python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelscope.core.cli.main import main
from test_cli_analytics import build_library, stub_encoder

GOLDEN = Path(__file__).parent / "golden"
RECORD = os.environ.get("REELSCOPE_RECORD_GOLDEN") == "1"
REL, ABS = 1e-3, 1e-4
DROP = {"seconds", "train_seconds", "samples_per_s", "eta_s"}


def normalise(obj: Any, root: str) -> Any:
    if isinstance(obj, dict):
        return {k: normalise(v, root) for k, v in obj.items() if not _clock(k)}
    if isinstance(obj, list):
        return [normalise(v, root) for v in obj]
    if isinstance(obj, str):
        return obj.replace(root, "<root>")
    return obj


def _clock(key: str) -> bool:
    return key in DROP or key.endswith(("_at", "_ns"))


def shape(obj: Any) -> Any:
    """Keys and types only: for outputs whose values depend on the machine."""
    if isinstance(obj, dict):
        return {k: shape(v) for k, v in obj.items() if not _clock(k)}
    if isinstance(obj, list):
        return [shape(obj[0])] if obj else []
    return type(obj).__name__ if obj is not None else None


def differences(got: Any, want: Any, where: str = "$") -> list[str]:
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{where}: missing key {k!r}" for k in want.keys() - got.keys()]
        out += [f"{where}: new key {k!r}" for k in got.keys() - want.keys()]
        for k in want.keys() & got.keys():
            out += differences(got[k], want[k], f"{where}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: {len(got)} items, golden has {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in differences(g, w, f"{where}[{i}]")]
    if isinstance(want, float) or isinstance(got, float):
        if isinstance(want, (int, float)) and isinstance(got, (int, float)) and \
                math.isclose(got, want, rel_tol=REL, abs_tol=ABS):
            return []
        if isinstance(want, float) and isinstance(got, float) and math.isnan(want) and math.isnan(got):
            return []
    if got != want:
        return [f"{where}: {got!r} != golden {want!r}"]
    return []


class Golden:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, name: str, got: Any) -> None:
        path = GOLDEN / f"{name}.json"
        if RECORD:
            GOLDEN.mkdir(exist_ok=True)
            path.write_text(json.dumps(got, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
            return
        want = json.loads(path.read_text())
        self.problems += [f"{name}: {d}" for d in differences(got, want)]


def run_json(capsys, *argv: str) -> Any:
    code = main([*argv, "--json", "--quiet"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_analytics_commands_match_their_golden_output(tmp_path, capsys, monkeypatch):
    root = tmp_path / "lib"
    build_library(root, runs=("run-a", "run-b")).close()
    lib = ["--library", str(root)]
    g = Golden()

    def check(name: str, *argv: str) -> Any:
        out = run_json(capsys, *argv)
        g.check(name, normalise(out, str(tmp_path)))
        return out

    check("info", "info", *lib)
    check("analyze", "analyze", *lib, "--run", "run-a")
    check("analyze_author_split", "analyze", *lib, "--run", "run-b", "--split", "author",
          "--coverage", "0.9", "--kind", "visual")
    check("similar_id", "similar", "v001", "-k", "5", *lib, "--run", "run-a")
    check("similar_audio", "similar", "v010", "-k", "5", "--kind", "audio", *lib, "--run", "run-a")
    check("evaluate", "evaluate", *lib)

    files = stub_encoder(monkeypatch, root, tmp_path)  # predict's one embedding call, stubbed
    out = run_json(capsys, "predict", *map(str, files), *lib, "--run", "run-a", "--followers", "20000",
                   "--following", "10", "--author-likes", "300000", "--author-videos", "40", "-k", "5")
    g.check("predict", normalise(out, str(tmp_path)))

    scores = tmp_path / "scores.csv"
    check("export_scores", "export", *lib, "--run", "run-a", "--what", "scores", "--out", str(scores))
    rows = list(csv.reader(io.StringIO(scores.read_text(encoding="utf-8-sig"))))
    g.check("export_scores_csv", [rows[0]] + [[_num(c) for c in r] for r in rows[1:]])
    npz = tmp_path / "emb.npz"
    check("export_embeddings", "export", *lib, "--run", "run-a", "--what", "embeddings", "--out", str(npz))
    with np.load(npz) as z:
        g.check("export_embeddings_npz", {k: {"shape": list(z[k].shape), "dtype": str(z[k].dtype),
                                              "head": [_num(x) for x in z[k].ravel()[:6].tolist()]}
                                          for k in sorted(z.files)})
    check("report", "report", *lib, "--run", "run-a", "--out", str(tmp_path / "r.html"))
    assert not g.problems, "\n".join(g.problems[:40])


def _num(x: Any) -> Any:
    """CSV cells and array values as numbers where they are numbers."""
    if isinstance(x, str):
        try:
            return float(x) if any(c in x for c in ".eE") or x.lstrip("-").isdigit() else x
        except ValueError:
            return x
    return float(x) if isinstance(x, (float, np.floating)) else x


@pytest.mark.slow
def test_media_and_model_commands_match_their_golden_output(tmp_path, capsys):
    """import (values) and the encoder's commands (keys) on a tiny generated library."""
    from reelscope.demo.generator import DemoSpec, generate_demo

    demo = generate_demo(tmp_path / "src", DemoSpec(videos=8, seed=2, min_s=1.0, max_s=1.2), workers=1)
    root = tmp_path / "lib"
    lib = ["--library", str(root)]
    g = Golden()
    out = run_json(capsys, "import", str(demo.videos_dir), "--metadata", str(demo.metadata_path), *lib,
                   "--workers", "1")
    g.check("import", normalise(out, str(tmp_path)))
    again = run_json(capsys, "import", str(demo.videos_dir), "--metadata", str(demo.metadata_path), *lib,
                     "--workers", "1")
    g.check("import_again", normalise(again, str(tmp_path)))
    run = run_json(capsys, "train", *lib, "--preset", "tiny", "--epochs", "1", "--device", "cpu")
    g.check("train_shape", shape(run))
    g.check("embed_shape", shape(run_json(capsys, "embed", *lib)))
    some = sorted(demo.videos_dir.glob("*.mp4"))
    good = [p for p in some if p not in demo.bad_files]
    g.check("similar_file_shape", shape(run_json(capsys, "similar", str(good[0]), "-k", "3", *lib)))
    g.check("predict_file_shape", shape(run_json(capsys, "predict", str(good[1]), "--followers", "5000", *lib)))
    g.check("info_after_training_shape", shape(run_json(capsys, "info", *lib)))
    assert not g.problems, "\n".join(g.problems[:40])
