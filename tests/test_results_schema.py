"""`load_run(RUN).table(k)` and `tables/*.csv`: one tidy, numeric schema per table, the same columns
for a one- and a two-backbone run (docs/interfaces.md, "The paper tables as data")."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from eifer import load_run
from eifer.config import load_config
from eifer.evaluate import metrics_per_run, write_tables
from eifer.runfolder import RunFolder
from eifer.stats.compare import compare_groups
from eifer.stats.tables import write_stats_tables

_METRIC_KEYS = ["Backbone", "Composition", "Condition", "Task", "Group", "Repetitions", "N items", "Positives"]
KEYS = {2: _METRIC_KEYS, 3: _METRIC_KEYS,
        4: ["backbone", "composition", "task", "condition", "comparison", "group_a", "group_b"]}


def _predictions(backbones, rng):
    rows = []
    for bb in backbones:
        for group, signal in (("High", 2.0), ("Low", 0.0), ("Total", 1.0)):
            for cond in ("baseline", "ambiguous"):
                for rep in range(2):
                    y = np.r_[np.zeros(24, int), np.ones(6, int)]  # planted: 6 of 30 items positive
                    prob = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(0, 1, y.size))))
                    rows.append(pd.DataFrame({
                        "backbone": bb, "composition": "direct", "group": group, "task": "arousal",
                        "condition": cond, "rep": rep, "item": [f"P9/V1/{i}" for i in range(y.size)],
                        "y_true": y, "prob": prob, "pred": (prob > 0.5).astype(int)}))
    return pd.concat(rows, ignore_index=True)


def _run(tmp_path, backbones):
    run = RunFolder(tmp_path / "-".join(backbones), load_config(profile="demo")).init()
    pred = _predictions(backbones, np.random.default_rng(0))
    write_tables(metrics_per_run(pred), run.path("tables"))
    write_stats_tables(compare_groups(pred, {"direct": [("High", "Low")]}, seed=0, n_permutations=0),
                       run.path("tables"), 4)
    return load_run(run.root)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schema")
    return _run(tmp, ["tinyA"]), _run(tmp, ["tinyA", "tinyB"])


@pytest.mark.parametrize("k", [2, 3, 4])
def test_same_columns_for_one_and_two_backbones(runs, k):
    one, two = runs[0].table(k), runs[1].table(k)
    assert list(one.columns) == list(two.columns)
    assert list(one.columns)[:len(KEYS[k])] == KEYS[k]
    assert set(two.iloc[:, 0]) == {"tinyA", "tinyB"} and set(one.iloc[:, 0]) == {"tinyA"}
    assert len(two) == 2 * len(one)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_every_value_column_is_numeric(runs, k):
    t = runs[1].table(k)
    text = [c for c in t.columns if not pd.api.types.is_numeric_dtype(t[c])]
    # only the keys are text: no "0.91 (0.02)" and no "< 0.001" anywhere
    notes = [c for c in text if c.endswith("_note")]  # a fit's remark in words (e.g. gee_note)
    labels = {"favoured", "perm_method"}  # a group's name (or empty) and the test used: words by nature
    assert set(text) - set(notes) - labels <= set(KEYS[2] + KEYS[4]), text
    values = t.drop(columns=notes).astype(str)
    assert not values.apply(lambda s: s.str.contains("<|\\(", regex=True)).any().any()


def test_n_items_and_positives_are_the_planted_counts(runs):
    t = runs[0].table(2)
    assert (t["N items"] == 30).all() and (t["Positives"] == 6).all()
    # the Markdown twin is drawn from the same numbers, formatted
    md = (runs[0].root / "tables" / "table2.md").read_text()
    row = t[(t["Group"] == "High") & (t["Condition"] == "baseline")].iloc[0]
    assert f"{row['accuracy_mean']:.4f} ({row['accuracy_sd']:.4f})" in md
