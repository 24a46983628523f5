"""Does originality find the demo's planted atypical videos? ROC AUC against the ground truth.

    python bench/qm_originality.py        # seed 0 (/tmp/rdemo) and seed 1 (/tmp/quality-seed1)

:func:`reelscope` scores a library's visual and audio embeddings with the app's
:class:`OriginalityScorer` (an unsupervised ensemble; the truth is only used here, to
evaluate) and gives the AUC of the ensemble and of each member, plus how often the
"nearest typical videos" named in the reasons of the 10 most original videos really are
typical. :func:`baseline` is the hand-crafted reference: an isolation forest on the
colour/motion histograms and log-mel statistics of ``bench/quality.py``'s
``handcrafted()``. Both take ``(library, truth, embeddings, ids)`` and return a flat dict
of rounded floats. Goal (issue 17): AUC >= 0.85 on seeds the defaults were not tuned on.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

GOAL_AUC = 0.85
LIBRARIES = {"seed 0": Path("/tmp/rdemo"), "seed 1": Path("/tmp/quality-seed1")}


def atypical(truth: dict[str, Any], ids: list[str]) -> np.ndarray:
    """bool [N]: the demo's planted atypical videos (unknown ids count as typical)."""
    videos = truth["videos"]
    return np.array([bool(videos.get(i, {}).get("is_atypical")) for i in ids])


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, score)), 3) if 0 < y.sum() < len(y) else float("nan")


def reelscope(library: Any, truth: dict[str, Any], embeddings: dict[str, np.ndarray],
              ids: list[str]) -> dict[str, float]:
    """AUC of Reelscope's originality (ensemble and each member) on ``embeddings``
    ({"visual", "audio", ...}: float32 [N, D] unit rows aligned with ``ids``)."""
    from reelscope.core.analytics.analyze import originality_inputs, originality_scorer

    y = atypical(truth, ids)
    scorer = originality_scorer(0).fit(originality_inputs(embeddings))
    out = {"originality_auc": _auc(y, scorer.scores_["ensemble"])}
    out.update({f"originality_auc_{name}": _auc(y, scorer.scores_[name]) for name in scorer.detectors})
    top = np.argsort(-scorer.scores_["ensemble"], kind="stable")[:10]
    named = [j for i in top for j in scorer.reasons(int(i)).nearest_typical]
    out["originality_reasons_typical_share"] = round(float(1.0 - y[named].mean()), 3)
    return out


def baseline(library: Any, truth: dict[str, Any], features: dict[str, np.ndarray],
             ids: list[str]) -> dict[str, float]:
    """AUC of an isolation forest (sklearn, 200 trees, seed 0) on hand-crafted ``features``
    ({"visual", "audio", "fused"} from ``bench/quality.py``'s ``handcrafted()``)."""
    from sklearn.ensemble import IsolationForest

    y = atypical(truth, ids)
    out = {}
    for kind, key in (("fused", "originality_auc"), ("visual", "originality_auc_visual"),
                      ("audio", "originality_auc_audio")):
        forest = IsolationForest(n_estimators=200, random_state=0).fit(features[kind])
        out[key] = _auc(y, -forest.score_samples(features[kind]))
    return out


def measure(folder: Path) -> dict[str, dict[str, float]]:
    """Both methods on the demo library in ``folder`` (``library/`` and ``source/``); read only."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from quality import handcrafted

    from reelscope.core.analytics.data import load_data
    from reelscope.core.store.library import Library

    library = Library.open(folder / "library", read_only=True)
    truth = json.loads((folder / "source" / "ground_truth.json").read_text())
    data = load_data(library)
    emb = {kind: data.kind(kind) for kind in ("visual", "audio", "fused")}
    return {"reelscope": reelscope(library, truth, emb, data.ids),
            "hand-crafted": baseline(library, truth, handcrafted(library, data.ids), data.ids)}


if __name__ == "__main__":
    results = {name: measure(path) for name, path in LIBRARIES.items() if path.exists()}
    keys = sorted({k for r in results.values() for m in r.values() for k in m},
                  key=lambda k: (k != "originality_auc", k))
    cols = [(seed, method) for seed in results for method in results[seed]]
    print(f"{'measure':40s}" + "".join(f"{seed + ' ' + method:>24s}" for seed, method in cols))
    for key in keys:
        cells = [results[s][m].get(key) for s, m in cols]
        print(f"{key:40s}" + "".join(f"{'—' if c is None else c:>24}" for c in cells))
    print(f"goal: originality_auc >= {GOAL_AUC} on seeds not tuned on (defaults tuned on seed 0 only)")
