"""Every command that touches a model, on runs trained in every precision, on machines
with and without native bf16 and with the bf16 probe answering both ways (issue 12).

`predict` once crashed on CPUs with native bf16: resolving ``auto`` precision inside
embedding ran the bf16 timing probe, whose backward pass fails under ``no_grad``. The
suite passed because no test ran those commands where the probe chooses bf16. Here the
machine's bf16 support and the probe's answer are forced, so the whole matrix runs on
any machine, and each command's *results* are checked, not only its exit code.

Where this machine has no native bf16 but a cell pretends it has, the autocast that
inference and training ask for is recorded and then run in fp32: emulated bf16 with
channels-last convolutions can corrupt the heap in torch 2.11 (training/precision.py).
On a machine with native bf16 every cell computes in real bf16.
"""

from __future__ import annotations

import json
import shutil
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest
import torch

from reelscope.core.analytics import predict
from reelscope.core.cli.main import main
from reelscope.demo.generator import DemoSpec, generate_demo
from reelscope.training import precision as prec
from reelscope.training.checkpoint import trained_precision

pytestmark = pytest.mark.slow

REAL_NATIVE = prec.cpu_has_native_bf16()
# (name, the machine has native bf16, the probe says bf16 pays)
MACHINES = [("no-native-bf16", False, False), ("native-bf16-pays", True, True),
            ("native-bf16-not-worth-it", True, False)]
PRECISIONS = ["auto", "bf16", "fp32"]


def expected_training(asked: str, native: bool, pays: bool) -> str:
    if asked == "fp32" or not native:
        return "fp32"
    return "bf16" if asked == "bf16" or pays else "fp32"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> dict:
    """A small generated library, imported once, with two videos kept out as drafts."""
    root = tmp_path_factory.mktemp("matrix")
    demo = generate_demo(root / "source", DemoSpec(videos=26, seed=3, min_s=1.0, max_s=1.4), workers=2)
    truth = json.loads(demo.ground_truth_path.read_text())["videos"]
    with_audio = sorted(v for v, t in truth.items() if t["has_audio"])
    drafts_dir = root / "drafts"
    drafts_dir.mkdir()
    drafts = []
    for vid in with_audio[:2]:
        drafts.append(shutil.move(str(demo.videos_dir / f"{vid}.mp4"), str(drafts_dir / f"{vid}.mp4")))
    lib = root / "template"
    assert main(["import", str(demo.videos_dir), "--metadata", str(demo.metadata_path),
                 "--library", str(lib), "--workers", "1", "--json", "--quiet"]) == 0
    from reelscope.core.store.library import Library

    with Library.open(lib) as library:
        imported = sorted(v.id for v in library.videos())
    assert len(imported) == 24  # 26, less the two drafts; the planted bad files are refused
    return {"root": root, "library": lib, "metadata": demo.metadata_path, "drafts": [Path(d) for d in drafts],
            "videos": demo.videos_dir, "imported": imported, "truth": truth}


class Machine:
    """Forces bf16 support and the probe's answer; records what the code asked for."""

    def __init__(self, monkeypatch, native: bool, pays: bool) -> None:
        self.native, self.pays = native, pays
        self.probe_calls: list[str] = []
        self.autocasts: list[str] = []
        monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: native)
        monkeypatch.setattr(prec, "_bf16_pays_for", self._probe)
        import reelscope.training.embed as embed_mod
        import reelscope.training.loop as loop_mod

        monkeypatch.setattr(embed_mod, "autocast_for", self._autocast)
        monkeypatch.setattr(loop_mod, "autocast_for", self._autocast)

    def _probe(self, shape_json: str) -> bool:
        if not torch.is_grad_enabled():  # the old crash: a backward pass timed under no_grad
            raise AssertionError("the bf16 probe ran where there are no gradients")
        self.probe_calls.append(shape_json)
        return self.pays

    def _autocast(self, device: torch.device, precision: str):
        self.autocasts.append(precision)
        if precision == "bf16" and not REAL_NATIVE:
            return nullcontext()  # see the module docstring
        return prec.autocast_for(device, precision)


def run_json(capsys, *args: str) -> object:
    code = main([*args, "--json", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err[-2000:]
    return json.loads(captured.out)


@pytest.mark.parametrize("asked", PRECISIONS)
@pytest.mark.parametrize("machine", MACHINES, ids=[m[0] for m in MACHINES])
def test_every_model_command_in_every_precision(source, tmp_path, monkeypatch, capsys, asked, machine):
    _, native, pays = machine
    lib = tmp_path / "lib"
    shutil.copytree(source["library"], lib)
    m = Machine(monkeypatch, native, pays)
    L = ["--library", str(lib)]
    train_p = expected_training(asked, native, pays)
    infer_p = train_p  # a run is used where it was trained: same machine, same answer

    # train (tiny) records the precision it really trained in, next to the weights
    run = run_json(capsys, "train", *L, "--preset", "tiny", "--epochs", "1", "--device", "cpu",
                   "--precision", asked)
    assert run["status"] == "done" and run["metrics"]["precision"] == train_p
    run_dir = lib / run["dir"]
    assert trained_precision(run_dir) == train_p
    assert bool(m.probe_calls) == (asked == "auto" and native)  # timed only when it decides
    assert set(m.autocasts) == {train_p, infer_p}  # training, then embedding after it
    m.probe_calls.clear()
    m.autocasts.clear()

    # embed, from scratch
    (run_dir / "embeddings.npz").unlink()
    emb = run_json(capsys, "embed", *L)
    assert emb["videos"] == len(source["imported"])

    # similar ID: k neighbours, best first, never the video itself
    vid = source["imported"][0]
    hits = run_json(capsys, "similar", vid, "-k", "5", *L)
    assert len(hits) == 5 and vid not in {h["id"] for h in hits}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)

    # similar FILE: a library video's own file finds that video first, near-identical
    hits = run_json(capsys, "similar", str(source["videos"] / f"{vid}.mp4"), "-k", "3", *L)
    assert hits[0]["id"] == vid and hits[0]["score"] > 0.98

    # analyze
    summary = run_json(capsys, "analyze", *L)
    assert summary["run"] == run["id"] and summary["videos"] == len(source["imported"])

    # predict a draft (author statistics from the metadata): a forecast inside its interval
    draft = source["drafts"][0]
    [p] = run_json(capsys, "predict", str(draft), "--metadata", str(source["metadata"]), "-k", "4", *L)
    likes = p["likes"]
    assert "error" not in p and likes is not None
    assert 0 <= likes["low"] <= likes["forecast"] <= likes["high"] and likes["coverage"] == pytest.approx(0.8)
    assert len(p["similar"]) == 4 and 0 <= p["originality"] <= 100 and p["hashtags"]
    assert p["id"] == draft.stem and p["run"] == run["id"]

    # predict --add: the second draft joins the library with its embedding
    other = source["drafts"][1]
    [added] = run_json(capsys, "predict", str(other), "--metadata", str(source["metadata"]), "--add", *L)
    assert added["id"] == other.stem and not added["warnings"]
    info = run_json(capsys, "info", *L)
    assert info["videos"]["imported"] == len(source["imported"]) + 1
    hits = run_json(capsys, "similar", other.stem, "-k", "3", *L)  # now a library video
    assert len(hits) == 3 and other.stem not in {h["id"] for h in hits}

    # evaluate and report read the same run
    ev = run_json(capsys, "evaluate", *L)
    assert {row["run"] for row in ev["comparison"]} == {run["id"]}
    out = run_json(capsys, "report", *L, "--out", str(tmp_path / "r.html"))
    html = Path(out["out"]).read_text()
    assert run["id"] in html and "<html" in html.lower()

    # Inference never timed anything, and always ran in the run's own precision here.
    assert m.probe_calls == []
    assert m.autocasts and set(m.autocasts) == {infer_p}


@pytest.mark.parametrize("trained,device,native,expected", [
    ("bf16", "cpu", True, "bf16"),     # the run's choice where this CPU runs it natively
    ("bf16", "cpu", False, "fp32"),    # a GPU-trained bf16 run on a laptop: no emulated bf16
    ("fp32", "cpu", True, "fp32"),
    (None, "cpu", True, "fp32"),       # a run from before the record
    ("bf16", "cuda", True, "bf16"),
    ("bf16", "cuda", False, "fp32"),   # a card without bf16
    ("fp32", "cuda", True, "fp32"),
])
def test_inference_precision_rule(monkeypatch, trained, device, native, expected):
    monkeypatch.setattr(prec, "native_bf16", lambda d: native)
    monkeypatch.setattr(prec, "_bf16_pays_for", lambda key: pytest.fail("inference timed the probe"))
    assert prec.inference_precision(trained, torch.device(device)) == expected


def test_a_gpu_bf16_run_embeds_in_fp32_on_a_cpu_without_native_bf16(source, tmp_path, monkeypatch, capsys):
    """A run recorded as bf16 (as a GPU would) and used on a CPU without native bf16."""
    lib = tmp_path / "lib"
    shutil.copytree(source["library"], lib)
    m = Machine(monkeypatch, native=True, pays=True)
    run = run_json(capsys, "train", "--library", str(lib), "--preset", "tiny", "--epochs", "1",
                   "--device", "cpu", "--precision", "bf16")
    assert trained_precision(lib / run["dir"]) == "bf16"
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: False)  # now "another machine"
    monkeypatch.setattr(predict, "EMBED_IN_WORKER", False)  # the faked machine is this process
    m.autocasts.clear()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the training tests that run after this one
    try:
        [p] = run_json(capsys, "predict", str(source["drafts"][0]), "--metadata", str(source["metadata"]),
                       "--library", str(lib))
        assert torch.get_num_threads() == 1  # embedding in-process leaves the caller's threads alone
    finally:
        torch.set_num_threads(threads)
    assert p["likes"] is not None and m.autocasts == ["fp32"]


def test_bf16_inference_keeps_the_fp32_neighbours(source, tmp_path, capsys):
    """Top-10 similar videos in bf16 and fp32 overlap >= 0.9 on average (real bf16 maths)."""
    from reelscope.core.store.library import Library
    from reelscope.core.encoding.train import training_items
    from reelscope.training.checkpoint import load_model
    from reelscope.training.embed import embed_items

    lib_dir = tmp_path / "lib"
    shutil.copytree(source["library"], lib_dir)
    run = run_json(capsys, "train", "--library", str(lib_dir), "--preset", "tiny", "--epochs", "3",
                   "--device", "cpu", "--precision", "fp32")
    with Library.open(lib_dir) as lib:
        items = training_items(lib)
    model, cfg = load_model(lib_dir / run["dir"], "cpu")
    out = {p: embed_items(model, cfg, items, precision=p)["fused"] for p in ("bf16", "fp32")}
    assert not np.array_equal(out["bf16"], out["fp32"])  # bf16 really ran

    def top10(x: np.ndarray) -> list[set[int]]:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        sims = x @ x.T
        np.fill_diagonal(sims, -np.inf)
        return [set(np.argsort(-row)[:10].tolist()) for row in sims]

    overlap = [len(a & b) / 10 for a, b in zip(top10(out["bf16"]), top10(out["fp32"]))]
    assert np.mean(overlap) >= 0.9, overlap
