"""Per-run metrics against scikit-learn, mean (SD) over repetitions, Tables 2-3 files."""
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

from eifer.config import load_config
from eifer.evaluate import metrics_binary, metrics_per_run, run_evaluate, summary_table
from eifer.runfolder import RunFolder


def test_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    prob = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, 200), 0, 1)
    pred = (prob >= 0.45).astype(int)
    m = metrics_binary(y, prob, pred)
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="macro", zero_division=0)
    assert np.allclose([m["precision"], m["recall"], m["f1"]], [p, r, f])
    assert np.isclose(m["accuracy"], (pred == y).mean())
    assert np.isclose(m["roc_auc"], roc_auc_score(y, prob))
    assert np.isclose(m["pr_auc"], average_precision_score(y, prob))
    one = metrics_binary(np.ones(5), np.linspace(0, 1, 5), np.ones(5))
    assert np.isnan(one["roc_auc"]) and one["accuracy"] == 1.0


def _predictions(accs):
    """Predictions whose accuracy per (group, rep) is planted: accs[group] = [acc per rep]."""
    rows = []
    for group, per_rep in accs.items():
        for rep, acc in enumerate(per_rep):
            n = 100
            y = np.tile([0, 1], n // 2)
            wrong = np.zeros(n, bool)
            wrong[: int(round((1 - acc) * n))] = True
            pred = np.where(wrong, 1 - y, y)
            for cond in ("baseline", "unambiguous", "ambiguous"):
                for i in range(n):
                    rows.append({"backbone": "b", "composition": "direct", "group": group, "task": "arousal",
                                 "condition": cond, "rep": rep, "item": f"p/v/{i}", "participant_id": "p",
                                 "video_id": "v", "frame": i, "y_true": y[i], "prob": 0.25 + 0.5 * pred[i],
                                 "pred": pred[i], "threshold": 0.5})
    return pd.DataFrame(rows)


def test_summary_is_mean_sd_over_repetitions(tmp_path):
    accs = {"High": [0.9, 0.8, 0.7], "Low": [0.6, 0.6, 0.6], "Total": [0.75, 0.85, 0.8]}
    per_run = metrics_per_run(_predictions(accs))
    assert len(per_run) == 3 * 3 * 3 and set(per_run["n"]) == {100}
    t2 = summary_table(per_run, ["accuracy", "f1"])
    row = t2[(t2.Group == "High") & (t2.Condition == "baseline")].iloc[0]
    assert np.isclose(row["accuracy_mean"], 0.8) and np.isclose(row["accuracy_sd"], 0.1)  # SD with ddof=1
    assert row["Accuracy"] == "0.8000 (0.1000)"
    low = t2[(t2.Group == "Low") & (t2.Condition == "ambiguous")].iloc[0]
    assert low["Accuracy"] == "0.6000 (0.0000)"
    # paper order: baseline, unambiguous, ambiguous; High, Low, Total
    assert list(t2.Condition.unique()) == ["baseline", "unambiguous", "ambiguous"]
    assert list(t2.Group[:3]) == ["High", "Low", "Total"]

    run = RunFolder(tmp_path, load_config(profile="demo")).init()
    _predictions(accs).to_parquet(tmp_path / "predictions.parquet")
    outs = run_evaluate(None, run)
    assert {"tables/table2.csv", "tables/table2.md", "tables/table3.csv", "tables/table3.md",
            "metrics_per_run.csv"} <= set(outs)
    t3 = pd.read_csv(tmp_path / "tables/table3.csv")
    # numbers only (docs/interfaces.md); the Markdown twin formats them
    assert {"roc_auc_mean", "roc_auc_sd", "pr_auc_mean", "pr_auc_sd", "N items", "Positives"} <= set(t3.columns)
    assert not {"ROC-AUC", "PR-AUC", "precision_mean"} & set(t3.columns)
    md = (tmp_path / "tables/table2.md").read_text()
    assert "| Baseline | Arousal | High EI | " in md and "0.8000 (0.1000)" in md


def test_missing_predictions_is_an_error(tmp_path):
    from eifer.errors import EiferError

    run = RunFolder(tmp_path, load_config(profile="demo")).init()
    with pytest.raises(EiferError, match="eifer train"):
        run_evaluate(None, run)
