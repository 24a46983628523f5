"""Typed analysis results: the stored JSON reads into frozen dataclasses and writes back
exactly, so the CLI's JSON (pinned by tests/golden) and every reader see the same thing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from reelscope.core.analytics.results import (AnalysisSummary, Correlation, ForecastResult, HashtagResult,
                                              SoundResult)

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", ["analyze", "analyze_author_split"])
def test_a_stored_summary_reads_typed_and_writes_back_exactly(name):
    data = json.loads((GOLDEN / f"{name}.json").read_text())
    data["created_at"] = 1.0  # dropped from the golden file as a wall-clock field
    summary = AnalysisSummary.from_json(data)
    assert summary.as_json() == data
    assert isinstance(summary.originality.vs_likes.raw, Correlation)
    assert summary.forecast.model("full").r2 == data["forecast"]["comparison"]["models"]["full"]["r2"]
    assert summary.hashtags.evaluation.precision("combined", 5) == \
        data["hashtags"]["evaluation"]["methods"]["combined"]["precision@5"]
    assert summary.hashtags.table[0].tag == data["hashtags"]["table"][0]["tag"]
    assert summary.sounds.trends[0].n_videos == data["sounds"]["trends"][0]["n_videos"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.run = "other"  # type: ignore[misc]


def test_optional_fields_are_left_out_and_nulls_kept():
    assert ForecastResult(skipped="too few").as_json() == {"skipped": "too few"}
    assert SoundResult(error="failed").as_json() == {"error": "failed"}
    assert HashtagResult(table=[]).as_json() == {"table": []}
    c = Correlation(rho=None, ci_low=None, ci_high=None, p_value=None)
    assert c.as_json() == {"rho": None, "ci_low": None, "ci_high": None, "p_value": None}
    assert not c.excludes_zero and Correlation(0.3, 0.1, 0.5).excludes_zero


def test_the_evaluation_reads_typed_and_writes_back_exactly():
    from reelscope.core.analytics.results import ComparisonRow, Evaluation

    data = json.loads((GOLDEN / "evaluate.json").read_text())
    evaluation = Evaluation.from_json(data)
    assert evaluation.as_json() == data
    row = evaluation.comparison[0]
    assert isinstance(row, ComparisonRow) and row.retrieval_recall_at_10 == data["comparison"][0]["retrieval_recall@10"]
    fused = evaluation.runs[0].kinds["fused"]
    assert fused.forecast.models["full"].r2 == data["runs"][0]["kinds"]["fused"]["forecast"]["models"]["full"]["r2"]
    assert ComparisonRow.of(row.run, row.method, row.kind, evaluation.runs[0].kinds[row.kind]) == row
