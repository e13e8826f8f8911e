# ruff: noqa: E501  (a table of exact code snippets: one mutant per entry reads better than wrapped strings)
"""Hand-written mutants of the result-deciding cores, for tools/mutate.py.

Each mutant is a small realistic bug: one exact text replacement (``original`` must
occur exactly once in ``file``), the stage whose tests must catch it, and the kind of
gap it probes (``gap``):

* ``boundary``   — a comparison at a threshold (``<`` vs ``<=``), an off-by-one;
* ``tie``        — the order among equal values;
* ``missing``    — a NaN / missing-value rule;
* ``config``     — a configuration the default study does not use;
* ``asymmetric`` — data where two usually equal things differ;
* ``logic``      — a wrong formula, operand or dropped step.

``equivalent`` holds the reason when the change cannot alter any result (such a mutant
is listed, not counted). ``STAGE_TESTS`` is each stage's fast test selection (pytest
arguments, run from the repository root).
"""
from __future__ import annotations

from dataclasses import dataclass

STAGE_TESTS: dict[str, list[str]] = {
    "ei": ["tests/ei/test_ei_boundaries.py", "tests/ei/test_ei_scoring.py::test_scores_total_task_and_emotion_breakdown",
           "tests/ei/test_ei_scoring.py::test_missing_trial_is_an_error_naming_participant_and_trial",
           "tests/ei/test_ei_scoring.py::test_incomplete_allowed_is_scaled_and_flagged",
           "tests/ei/test_ei_scoring.py::test_duplicated_trial_and_bad_correct_value_name_the_line",
           "tests/ei/test_ei_scoring.py::test_precomputed_scores_are_checked"],
    "labels": ["tests/labels/test_labels_boundaries.py", "tests/labels/test_labels.py::test_seven_point_scale_low_high_and_weak_neutral",
               "tests/labels/test_labels.py::test_nine_point_sam_scale_uses_its_own_neutral",
               "tests/labels/test_labels.py::test_without_weak_labels_neutral_is_missing_not_guessed",
               "tests/labels/test_labels.py::test_bad_domain_and_duplicates_are_reported_with_lines"],
    "cutoff": ["tests/cutoff/test_cutoff_boundaries.py",
               "tests/cutoff/test_cutoff.py::test_tie_breaks_smaller_imbalance_then_lower_cutoff",
               "tests/cutoff/test_cutoff.py::test_candidates_span_observed_range_and_high_is_strictly_above",
               "tests/cutoff/test_cutoff.py::test_sweep_needs_enough_participants_with_hrv",
               "tests/cutoff/test_cutoff.py::test_beyond_chance_is_p_strictly_below_permutation_alpha"],
    "select": ["tests/select/test_select_boundaries.py", "tests/select/test_select_core.py"],
    "split": ["tests/split/test_split_boundaries.py", "tests/split/test_splits.py"],
    "frames": ["tests/frames/test_quality_boundaries.py", "tests/frames/test_quality_rules.py"],
    "hrv": ["tests/hrv/test_hrv_edges.py",
            "tests/hrv/test_hrv.py::test_planted_premature_beats_are_removed_from_nn_statistics",
            "tests/hrv/test_hrv.py::test_rr_input_equals_direct_computation_and_segments_cut_by_time",
            "tests/hrv/test_hrv.py::test_segment_excluded_above_max_removed_and_kept_at_it",
            "tests/hrv/test_hrv.py::test_nan_columns_dropped_with_one_warning_and_emotion_labels"],
    "stats": ["tests/stats/test_stats_boundaries.py", "tests/stats/test_reference_r.py",
              "tests/stats/test_delong_props.py"],
    "train": ["tests/train/test_train_boundaries.py", "tests/train/test_schedule.py::test_stage2_schedule_at_named_steps",
              "tests/train/test_schedule.py::test_stage1_constant_or_warmup",
              "tests/train/test_schedule.py::test_threshold_maximises_validation_macro_f1"],
    "affect": ["tests/affect/test_estimator_range.py"],
}


@dataclass(frozen=True)
class Mutant:
    id: str
    stage: str
    file: str  # relative to src/
    original: str
    mutated: str
    gap: str
    what: str
    equivalent: str = ""


EI = "eifer/ei/scoring.py"
LAB = "eifer/labels/make.py"
CUT = "eifer/cutoff/sweep.py"
SEL = "eifer/select/core.py"
SPL = "eifer/split/core.py"
FRM = "eifer/frames/quality.py"
HRV = "eifer/hrv/core.py"
HRVS = "eifer/hrv/stage.py"
COMB = "eifer/stats/combine.py"
GEE = "eifer/stats/gee.py"
PERM = "eifer/stats/permutation.py"
THR = "eifer/train/threshold.py"
MET = "eifer/evaluate/metrics.py"
FIT = "eifer/train/fit.py"
SCHED = "eifer/train/schedule.py"
EST = "eifer/affect/estimators.py"

MUTANTS: list[Mutant] = [
    # --- EI scoring ------------------------------------------------------------------------------------
    Mutant("ei-01", "ei", EI, "(val < 0) | (val > max_score)", "(val < 0) | (val >= max_score)", "boundary",
           "a perfect score 1200 is refused"),
    Mutant("ei-02", "ei", EI, "(val < 0) | (val > max_score)", "(val <= 0) | (val > max_score)", "boundary",
           "a score of 0 is refused"),
    Mutant("ei-03", "ei", EI, "(val.isna() | (val < 0)", "((val < 0)", "missing",
           "a missing precomputed score passes"),
    Mutant("ei-04", "ei", EI, 'dup = responses.duplicated(key, keep="first")',
           'dup = responses.duplicated(key, keep=False)', "logic", "both copies of a duplicated trial are reported"),
    Mutant("ei-05", "ei", EI, '"ei_score": pts.sum() * n_expected / len(g)', '"ei_score": pts.sum()', "config",
           "incomplete participants are not scaled to the answered trials"),
    Mutant("ei-06", "ei", EI, "per_task_cell = len(emotions) * n_stimuli", "per_task_cell = len(tasks) * n_stimuli",
           "asymmetric", "per-task scale uses the number of tasks (3 tasks vs 4 emotions)"),
    Mutant("ei-07", "ei", EI, "per_emotion_cell = len(tasks) * n_stimuli",
           "per_emotion_cell = len(emotions) * n_stimuli", "asymmetric",
           "per-emotion scale uses the number of emotions"),
    Mutant("ei-08", "ei", EI, 'rec["incomplete"] = bool(len(lacking))', 'rec["incomplete"] = bool(len(lacking) > 1)',
           "boundary", "one missing trial is not flagged incomplete"),
    Mutant("ei-09", "ei", EI, "~correct.isin([0, 1])", "~correct.isin([0, 1, 2])", "logic",
           "'correct' = 2 accepted"),
    Mutant("ei-10", "ei", EI, "if len(lacking) and not allow_incomplete:",
           "if len(lacking) > 1 and not allow_incomplete:", "boundary", "exactly one missing trial passes silently"),
    Mutant("ei-11", "ei", EI, "rec[f\"score_{t}\"] = pts[sel].sum() * per_task_cell / sel.sum() if sel.any() else np.nan",
           "rec[f\"score_{t}\"] = pts[sel].sum() * per_task_cell / sel.sum() if sel.any() else 0.0", "missing",
           "a task with no answered trial scores 0 instead of missing"),
    # --- labels ------------------------------------------------------------------------------------------
    Mutant("lab-01", "labels", LAB, "np.where(r > split, 1, 0)", "np.where(r >= split, 1, 0)", "config",
           "on a scale without neutral point the centre rating is high"),
    Mutant("lab-02", "labels", LAB, "weak = (r == neutral) if neutral is not None else np.zeros(len(r), dtype=bool)",
           "weak = r == split", "config", "a scale without neutral point weak-labels its centre"),
    Mutant("lab-03", "labels", LAB, "split = (likert_min + likert_max) / 2 if neutral is None else neutral",
           "split = (likert_min + likert_max) / 2", "config", "split at the scale centre, not at the neutral point"),
    Mutant("lab-04", "labels", LAB, "if not likert_min < split < likert_max:",
           "if not likert_min <= split < likert_max:", "boundary", "neutral at the scale minimum accepted"),
    Mutant("lab-05", "labels", LAB, "if not likert_min < split < likert_max:",
           "if not likert_min < split <= likert_max:", "boundary", "neutral at the scale maximum accepted"),
    Mutant("lab-06", "labels", LAB, "not likert_min <= float(v) <= likert_max",
           "not likert_min < float(v) <= likert_max", "boundary", "a rating at the scale minimum refused"),
    Mutant("lab-07", "labels", LAB, 'int(domain[2] == "H")', 'int(domain[1] == "H")', "logic",
           "valence direction read from the wrong letter"),
    Mutant("lab-08", "labels", LAB, "label[weak] = dirs[weak, k]", "label[weak] = dirs[weak, 1 - k]", "asymmetric",
           "weak arousal label from the valence direction (HALV / LAHV)"),
    Mutant("lab-09", "labels", LAB, "label[weak] = pd.NA", "label[weak] = 0", "missing",
           "neutral without weak labelling guessed low instead of missing"),
    # --- cutoff sweep ------------------------------------------------------------------------------------
    Mutant("cut-01", "cutoff", CUT, "high = s > c", "high = s >= c", "boundary",
           "a score equal to the cutoff counts as High in the sweep"),
    Mutant("cut-02", "cutoff", CUT, 'rec["eligible"] = bool(min(n_high, n_low) >= min_group_size',
           'rec["eligible"] = bool(min(n_high, n_low) > min_group_size', "boundary",
           "a group of exactly min_group_size makes the cutoff ineligible"),
    Mutant("cut-03", "cutoff", CUT, "and abs(n_high - n_low) <= max_imbalance_frac * n)",
           "and abs(n_high - n_low) < max_imbalance_frac * n)", "boundary",
           "an imbalance exactly at the limit is ineligible"),
    Mutant("cut-04", "cutoff", CUT, "and abs(n_high - n_low) <= max_imbalance_frac * n)", ")", "logic",
           "the imbalance limit is ignored"),
    Mutant("cut-05", "cutoff", CUT, 'rec["eligible"] = bool(min(n_high, n_low) >= min_group_size and ',
           'rec["eligible"] = bool(', "logic", "the group-size limit is ignored for eligibility"),
    Mutant("cut-06", "cutoff", CUT, 'if min(n_high, n_low) >= min_group_size and (rec["eligible"] or not only_eligible):',
           'if rec["eligible"] or not only_eligible:', "boundary", "the ANOVA runs on groups below min_group_size"),
    Mutant("cut-07", "cutoff", CUT, "if pv < alpha]", "if pv <= alpha]", "boundary",
           "a p-value equal to alpha counts as significant"),
    Mutant("cut-08", "cutoff", CUT, '"imbalance": abs(n_high - n_low)', '"imbalance": n_high - n_low', "logic",
           "signed imbalance"),
    Mutant("cut-09", "cutoff", CUT, 'sort_values(["_neg", "imbalance", "cutoff"]', 'sort_values(["_neg", "cutoff", "imbalance"]',
           "tie", "ties go to the lower cutoff before the smaller imbalance"),
    Mutant("cut-10", "cutoff", CUT, 'el = sweep.loc[sweep["eligible"].astype(bool) & sweep["n_significant"].notna()]',
           'el = sweep.loc[sweep["n_significant"].notna()]', "asymmetric", "an ineligible cutoff can be chosen"),
    Mutant("cut-11", "cutoff", CUT, 'el = sweep.loc[sweep["eligible"], "n_significant"]', 'el = sweep["n_significant"]',
           "asymmetric", "the observed maximum is taken over ineligible cutoffs too"),
    Mutant("cut-12", "cutoff", CUT, "np.sum(null_arr >= obs_max)", "np.sum(null_arr > obs_max)", "tie",
           "shuffles equal to the observed maximum do not count"),
    Mutant("cut-13", "cutoff", CUT, "p = (1 + np.sum(null_arr >= obs_max)) / (1 + n_perm)",
           "p = np.sum(null_arr >= obs_max) / n_perm", "logic", "permutation p without the observed labelling"),
    Mutant("cut-14", "cutoff", CUT, '"beyond_chance": bool(p < alpha_perm)', '"beyond_chance": bool(p <= alpha_perm)',
           "boundary", "p equal to the permutation alpha is beyond chance"),
    Mutant("cut-15", "cutoff", CUT, "n = int(np.ceil((s.max() - lo) / step))", "n = int(np.ceil((s.max() - lo) / step)) + 1",
           "boundary", "a candidate cutoff at/above the highest score"),
    Mutant("cut-16", "cutoff", CUT, "if len(sc) < 2 * min_group_size and fixed_cutoff is None:",
           "if len(sc) <= 2 * min_group_size and fixed_cutoff is None:", "boundary",
           "a study of exactly 2 x min_group_size is refused"),
    Mutant("cut-17", "cutoff", CUT, '"group": np.where(s > cutoff, "High", "Low")',
           '"group": np.where(s >= cutoff, "High", "Low")', "boundary", "groups.csv puts a score equal to the cutoff in High"),
    Mutant("cut-18", "cutoff", CUT, "null.append(_eligible_max(cutoff_sweep(shuffled, hrv, only_eligible=True,",
           "null.append(_eligible_max(cutoff_sweep(shuffled, hrv, only_eligible=False,", "logic",
           "the shuffled sweeps also run the ANOVA at ineligible cutoffs",
           equivalent="_eligible_max reads only eligible rows, whose counts only_eligible does not change (speed only)"),
    Mutant("cut-19", "cutoff", CUT, '"cutoff"], kind="mergesort")', '"cutoff"], kind="quicksort")', "tie",
           "unstable sort in choose_cutoff",
           equivalent="the key (-count, imbalance, cutoff) is unique per row (cutoffs are distinct), so stability never matters"),
    Mutant("cut-20", "cutoff", CUT, "key = high.to_numpy().tobytes()", "key = float(c)", "logic",
           "the ANOVA cache keyed by cutoff instead of split",
           equivalent="the cache only avoids recomputing a split; keyed by cutoff every row is computed, with the same result"),
    Mutant("cut-21", "cutoff", CUT, 'out = data["hrv_excluded"].fillna("").astype(str) != ""',
           'out = data["hrv_excluded"].astype(str) != ""', "missing",
           "a segment without a quality verdict (NaN) is left out"),
    # --- selection ---------------------------------------------------------------------------------------
    Mutant("sel-01", "select", SEL, "cong_a, cong_v = g[s_a > 0], g[s_v > 0]", "cong_a, cong_v = g[s_a >= 0], g[s_v >= 0]",
           "boundary", "an estimate of exactly 0 counts as congruent"),
    Mutant("sel-02", "select", SEL,
           'top_a = cong_a.assign(_m=cong_a["arousal"].abs()).sort_values(["_m", "frame"], ascending=[False, True],',
           'top_a = cong_a.assign(_m=cong_a["arousal"].abs()).sort_values(["_m", "frame"], ascending=[False, False],',
           "tie", "equal |arousal| taken from the highest frame number"),
    Mutant("sel-03", "select", SEL,
           'top_v = rest_v.assign(_m=rest_v["valence"].abs()).sort_values(["_m", "frame"], ascending=[False, True],',
           'top_v = rest_v.assign(_m=rest_v["valence"].abs()).sort_values(["_m", "frame"], ascending=[False, False],',
           "tie", "equal |valence| taken from the highest frame number"),
    Mutant("sel-04", "select", SEL, 'rest_v = cong_v[~cong_v["frame"].isin(top_a["frame"])]', "rest_v = cong_v", "logic",
           "a frame can be selected by both arousal and valence"),
    Mutant("sel-05", "select", SEL, '_m=cong_a["arousal"].abs()', '_m=cong_a["arousal"]', "asymmetric",
           "arousal ranked by signed value (label 0 picks the weakest)"),
    Mutant("sel-06", "select", SEL, 'unamb = gs[gs["s"] > 0]', 'unamb = gs[gs["s"] >= 0]', "boundary",
           "s = 0 counts as unambiguous"),
    Mutant("sel-07", "select", SEL, 'pool = rest[rest["s"] <= tau]', 'pool = rest[rest["s"].abs() <= tau]', "asymmetric",
           "ambiguous pool |s| <= tau instead of s <= tau"),
    Mutant("sel-08", "select", SEL, 'pool = rest[rest["s"] <= tau]', 'pool = rest[rest["s"] < tau]', "boundary",
           "a frame with s exactly tau is not ambiguous"),
    Mutant("sel-09", "select", SEL, 'amb = rest.sort_values(["s", "frame"], kind="stable").head(n)',
           'amb = rest.sort_values(["s", "frame"], ascending=False, kind="stable").head(n)', "config",
           "the fallback takes the highest s when few frames qualify"),
    Mutant("sel-10", "select", SEL, "if len(pool) >= n:", "if len(pool) > n:", "boundary",
           "a pool of exactly n goes to the fallback",
           equivalent="a pool of exactly n frames is all frames with s <= tau, which are also the n lowest-s frames "
                      "of the rest; the fallback returns the same frames (only the row order differs, which no "
                      "consumer reads)"),
    Mutant("sel-11", "select", SEL, 'rest = gs[~gs["frame"].isin(unamb["frame"])]', "rest = gs", "logic",
           "an unambiguous frame can also be ambiguous"),
    Mutant("sel-12", "select", SEL, 'unamb = gs[gs["s"] > 0].sort_values(["s", "frame"], ascending=[False, True]',
           'unamb = gs[gs["s"] > 0].sort_values(["s", "frame"], ascending=[True, True]', "logic",
           "unambiguous = the smallest positive s"),
    Mutant("sel-14", "select", SEL, '"shortfall_arousal": n_arousal - len(top_a)', '"shortfall_arousal": n_arousal - len(cong_a)',
           "logic", "shortfall from the congruent count, not the selected count"),
    Mutant("sel-13", "select", SEL, "np.where(lab == 1, 1.0, -1.0)", "np.where(lab == 0, -1.0, 1.0)", "logic",
           "direction from 'not 0' instead of '1'",
           equivalent="labels.csv labels are 0/1 or missing (make_labels; missing is handled first), so lab == 1 "
                      "and lab != 0 agree"),
    # --- splits ------------------------------------------------------------------------------------------
    Mutant("spl-01", "split", SPL, "test = choose_testset(group_of, participants, n_test_high, n_test_low, seed,",
           "test = choose_testset(group_of, participants, n_test_high, n_test_high, seed,", "config",
           "n_test_low ignored (only visible when n_test_high != n_test_low)"),
    Mutant("spl-02", "split", SPL, 'for grp, n in (("High", n_high), ("Low", n_low)):',
           'for grp, n in (("High", n_low), ("Low", n_high)):', "config", "test counts swapped between groups"),
    Mutant("spl-03", "split", SPL, "if len(pool) < n + 2:", "if len(pool) < n + 1:", "boundary",
           "one participant left for a group's train and validation"),
    Mutant("spl-04", "split", SPL, "if len(pool) < n + 2:", "if len(pool) < n + 3:", "boundary",
           "two participants left are refused"),
    Mutant("spl-05", "split", SPL, "if _both_classes(y, pids, train) and _both_classes(y, pids, val):",
           "if _both_classes(y, pids, val):", "config", "a training split may lose a class"),
    Mutant("spl-06", "split", SPL, "if _both_classes(y, pids, train) and _both_classes(y, pids, val):",
           "if _both_classes(y, pids, train):", "config", "a validation split may lose a class"),
    Mutant("spl-07", "split", SPL, "return np.unique(y[np.isin(pids, members)]).size == 2",
           "return np.unique(y[np.isin(pids, members)]).size >= 1", "config", "one class counts as both"),
    Mutant("spl-08", "split", SPL, "bad = ~df[col].isin([0, 1, True, False])", "bad = ~df[col].isin([0, 1, 2, True, False])",
           "logic", "a label 2 accepted"),
    Mutant("spl-09", "split", SPL,
           'frames = rest if group == "Total" else rest[rest["participant_id"].map(group_of) == group]',
           "frames = rest", "logic", "High/Low compositions train on every participant"),
    # --- frame quality -----------------------------------------------------------------------------------
    Mutant("frm-01", "frames", FRM, 'return (frames["ear_left"] + frames["ear_right"]) / 2', 'return frames["ear_left"]',
           "asymmetric", "eye aspect ratio of the left eye only"),
    Mutant("frm-02", "frames", FRM, 'return (frames["ear_left"] + frames["ear_right"]) / 2',
           'return np.minimum(frames["ear_left"], frames["ear_right"])', "asymmetric",
           "eye aspect ratio of the narrower eye"),
    Mutant("frm-03", "frames", FRM, "dropped = (score < det_reference - det_drop)",
           "dropped = (score <= det_reference - det_drop)", "boundary", "a score exactly at the drop is occlusion"),
    Mutant("frm-04", "frames", FRM, 'score = out["det_score"].fillna(0.0)', 'score = out["det_score"]', "missing",
           "a tracked face without detector score never counts as a drop"),
    Mutant("frm-05", "frames", FRM, 'weak = (out["det_score"] < min_detection_confidence) | out["det_score"].isna()',
           'weak = out["det_score"] < min_detection_confidence', "missing",
           "a tracked face without detector score is trusted"),
    Mutant("frm-06", "frames", FRM, 'weak = (out["det_score"] < min_detection_confidence)',
           'weak = (out["det_score"] <= min_detection_confidence)', "boundary",
           "a detector score exactly at the threshold is weak"),
    Mutant("frm-07", "frames", FRM, '(out["landmark_score"] < min_landmark_confidence)',
           '(out["landmark_score"] <= min_landmark_confidence)', "boundary",
           "a landmark score exactly at the threshold is low confidence"),
    Mutant("frm-08", "frames", FRM, '("eyes_closed", ear < ear_threshold)', '("eyes_closed", ear <= ear_threshold)',
           "boundary", "an EAR exactly at the threshold is closed"),
    Mutant("frm-09", "frames", FRM, 'cue[~landmarks.to_numpy()] = ""', "pass", "logic",
           "occlusion cues kept on frames without landmarks"),
    Mutant("frm-10", "frames", FRM, "for s in range(1, keep + 1):", "for s in range(1, keep):", "boundary",
           "the hand cue spreads k-1 frames"),
    Mutant("frm-11", "frames", FRM, "open_eyes = ear[ear >= shut_split", "open_eyes = ear[ear > shut_split", "boundary",
           "an EAR exactly at the shut split counts as shut"),
    Mutant("frm-12", "frames", FRM, "if len(ear) < max(1, min_frames):", "if len(ear) <= max(1, min_frames):",
           "boundary", "exactly min_frames landmark frames are too few"),
    Mutant("frm-13", "frames", FRM, '("no_face", ~face | (weak & ~landmarks)),', '("no_face", ~face),', "logic",
           "a weak unconfirmed detection counts as a face"),
    Mutant("frm-14", "frames", FRM, 'det_reference = float(out.loc[face, "det_score"].median())',
           'det_reference = float(out.loc[face, "det_score"].mean())', "logic",
           "detector reference is the mean, not the median"),
    Mutant("frm-15", "frames", FRM, "return max(1, int(cfg.hand_stride) // 5) if k is None else int(k)",
           "return int(cfg.hand_stride) // 5 if k is None else int(k)", "boundary",
           "a short hand stride keeps no frames flagged"),
    # --- HRV ---------------------------------------------------------------------------------------------
    # hrv-01..08, 13, 14 rewritten after #25 (whole-recording classification: classify_intervals,
    # assign_segments, interval_quality, hrv_intervals); each plants the same kind of bug in the rule
    # that now decides it.
    Mutant("hrv-01", "hrv", HRV, "inside = (t > seg.onset_s) & (t <= seg.offset_s) & (out == \"\")",
           "inside = (t >= seg.onset_s) & (t < seg.offset_s) & (out == \"\")", "boundary",
           "an interval ending on a segment boundary goes to the segment that starts there (assign_segments; "
           "was: counted in both, which one label per interval no longer allows)"),
    Mutant("hrv-02", "hrv", HRV, "inside = (t > seg.onset_s) & (t <= seg.offset_s) & (out == \"\")",
           "inside = (t > seg.onset_s) & (t < seg.offset_s) & (out == \"\")", "boundary",
           "an interval ending on a segment boundary is counted in neither (assign_segments)"),
    Mutant("hrv-03", "hrv", HRV, "removed[j:end + 1] = True", "removed[j:end + 2] = True", "asymmetric",
           "a premature-beat run also removes the sinus interval after it (classify_intervals)"),
    Mutant("hrv-04", "hrv", HRV, "removed[j:end + 1] = True", "removed[max(j - 1, 0):end + 2] = True", "asymmetric",
           "a premature-beat run also removes both neighbouring sinus intervals (classify_intervals)"),
    Mutant("hrv-05", "hrv", HRV, "removed[i - 1:i + 1] = True", "removed[i - 1:i + 2] = True", "asymmetric",
           "an extra beat also removes the interval after its two halves"),
    Mutant("hrv-06", "hrv", HRV, 'q["nn_removed_share"] = float(rr[removed].sum() / total) if total > 0 else 0.0',
           'q["nn_removed_share"] = float(rr[removed].sum() / rr[~removed].sum()) if total > 0 else 0.0', "boundary",
           "removed share = removed / kept instead of removed / total (interval_quality)"),
    Mutant("hrv-07", "hrv", HRV, 'if end > j and any("ectopic" in flags[m] for m in range(j, end + 1)):',
           'if end > j and "ectopic" in flags[j]:', "asymmetric",
           "a run is confirmed only when its first flag is ectopic (successor of the before/after "
           "confirmation rule: the premature-beat run rule of classify_intervals)"),
    Mutant("hrv-08", "hrv", HRV, 'if k == "missed":\n                        removed[i - 1] = True\n                    elif k == "extra":',
           'if k == "extra":', "logic", "a lone missed beat is not removed"),
    Mutant("hrv-09", "hrv", HRV, "bad = ~np.isfinite(v) | ((v <= 0) if c == col else False)",
           "bad = ((v <= 0) if c == col else np.zeros(len(v), bool))", "missing",
           "a NaN RR value passes (the cumulative sum drops the rest of the recording)"),
    Mutant("hrv-10", "hrv", HRV, "bad = ~np.isfinite(v) | ((v <= 0) if c == col else False)",
           "bad = ~np.isfinite(v) | ((v < 0) if c == col else False)", "boundary", "an RR interval of 0 passes"),
    Mutant("hrv-11", "hrv", HRV, "    bad = ~np.isfinite(rr)\n", "    rr = rr[np.isfinite(rr)]\n    bad = np.isnan(rr)\n",
           "missing", "NaN intervals of a segment are dropped and their neighbours joined"),
    Mutant("hrv-12", "hrv", HRV, "if len(rr) + 1 < min_beats:", "if len(rr) < min_beats:", "boundary",
           "min_beats counted in intervals, not beats"),
    Mutant("hrv-13", "hrv", HRV, 'if q["n_nn"] + 1 < min_beats or nn.empty:',
           'if q["n_nn"] < min_beats or nn.empty:', "boundary",
           "after cleaning, min_beats counted in NN intervals"),
    Mutant("hrv-14", "hrv", HRV, 'q["n_unconfirmed"] = float((paired & ~removed).sum())',
           'q["n_unconfirmed"] = 0.0', "logic", "lone flags not counted (interval_quality)"),
    Mutant("hrv-15", "hrv", HRV, 'for c in [col] + (["time_s"] if "time_s" in rr.columns else []):', "for c in [col]:",
           "missing", "a missing beat time passes"),
    Mutant("hrv-16", "hrv", HRVS, "if share > max_removed:", "if share >= max_removed:", "boundary",
           "a removed share exactly at hrv.max_removed excludes the segment"),
    Mutant("hrv-17", "hrv", HRVS, 'elif "n_nn" in hrv.columns and r["n_nn"] + 1 < min_beats:',
           'elif "n_nn" in hrv.columns and r["n_nn"] < min_beats:', "boundary",
           "the exclusion counts NN intervals, not beats, against min_beats"),
    Mutant("hrv-18", "hrv", HRV, ".isna().groupby(kind.to_numpy()[counted]).all().any(axis=0)",
           ".isna().groupby(kind.to_numpy()[counted]).any().any(axis=0)", "missing",
           "an HRV column NaN in one segment is dropped for all"),
    Mutant("hrv-19", "hrv", HRV, "counted = ~kind.isin(list(keep_for)).to_numpy()",
           "counted = np.ones(len(kind), dtype=bool)", "missing",
           "NaN in the short recovery segments drops a column"),
    # new with #25's premature-beat run rule (classify_intervals)
    Mutant("hrv-20", "hrv", HRV, 'if end > j and any("ectopic" in flags[m] for m in range(j, end + 1)):',
           'if end >= j and any("ectopic" in flags[m] for m in range(j, end + 1)):', "boundary",
           "a lone ectopic flag (a run of one) is removed as a premature beat"),
    Mutant("hrv-21", "hrv", HRV, 'if end > j and any("ectopic" in flags[m] for m in range(j, end + 1)):',
           "if end > j:", "logic", "a run of long/short flags only (a sinus swing) is removed"),
    # --- statistics --------------------------------------------------------------------------------------
    Mutant("sta-01", "stats", COMB, "m = int(ok.sum())", "m = int(p.size)", "missing",
           "BH counts NaN p-values as tests"),
    Mutant("sta-02", "stats", COMB, "q_sorted = np.minimum.accumulate(pv[order] * m / ranks)",
           "q_sorted = pv[order] * m / ranks", "logic", "BH without the running minimum"),
    Mutant("sta-03", "stats", COMB, "ranks = np.arange(m, 0, -1)", "ranks = np.arange(m, 0, -1) + 1",
           "boundary", "BH ranks off by one"),
    Mutant("sta-04", "stats", COMB, "qq[order] = np.minimum(q_sorted, 1.0)", "qq[order] = q_sorted", "boundary",
           "BH q-values not capped at 1",
           equivalent="the running minimum starts at the largest p with rank m (q = p * m / m = p <= 1), so no "
                      "q-value can exceed 1"),
    Mutant("sta-05", "stats", COMB, 'order = np.argsort(pv, kind="mergesort")[::-1]', "order = np.argsort(pv)[::-1]",
           "tie", "BH order of tied p-values unstable",
           equivalent="tied p-values get the same q (each one's minimum runs over all p_j >= p_i, ties included), "
                      "whatever their order"),
    Mutant("sta-06", "stats", GEE, "levels = [reference] + sorted(set(g) - {reference})", "levels = sorted(set(g))",
           "config", "GEE reference = the alphabetically first group"),
    Mutant("sta-07", "stats", GEE, "levels = [reference] + sorted(set(g) - {reference})",
           "levels = sorted(set(g) - {reference}) + [reference]", "config", "GEE reference placed last"),
    Mutant("sta-08", "stats", PERM, "p = float(np.mean(np.abs(stats) >= abs(observed) - tol))\n    return float(observed), p",
           "p = float(np.mean(np.abs(stats) > abs(observed)))\n    return float(observed), p", "tie",
           "relabelings tied with the observed difference do not count"),
    Mutant("sta-09", "stats", COMB, "return float(sps.chi2.sf(-2.0 * np.log(p).sum(), 2 * p.size))",
           "return float(sps.chi2.sf(-2.0 * np.log(p).sum(), p.size))", "logic", "Fisher's method with k df"),
    Mutant("sta-10", "stats", COMB, "w = 1.0 / s**2", "w = 1.0 / s", "logic", "inverse-SE instead of inverse-variance weights"),
    Mutant("sta-11", "stats", PERM, "p = float(np.mean(np.abs(stats) >= abs(observed) - tol))\n    return SignFlipResult",
           "p = float(np.mean(np.abs(stats) > abs(observed)))\n    return SignFlipResult", "tie",
           "sign-flip test: sign patterns tied with the observed mean do not count"),
    # --- training decisions ------------------------------------------------------------------------------
    Mutant("trn-01", "train", THR, "i = best[np.argmin(np.abs(ts[best] - 0.5))]", "i = best[-1]", "tie",
           "an F1 tie goes to the highest threshold"),
    Mutant("trn-02", "train", THR, "i = best[np.argmin(np.abs(ts[best] - 0.5))]", "i = best[0]", "tie",
           "an F1 tie goes to the lowest threshold"),
    Mutant("trn-03", "train", THR, "best = np.flatnonzero(np.isclose(f1, f1.max()))",
           "best = np.flatnonzero(f1 == f1.max())", "tie", "F1 ties by exact equality",
           equivalent="tied thresholds have identical confusion counts, so their F1 values are computed from the "
                      "same integers and are bit-identical"),
    Mutant("trn-04", "train", FIT, "sched=sched, step=e * steps,", "sched=sched, step=gi * steps,", "config",
           "the schedule step counts epochs of earlier phases"),
    Mutant("trn-05", "train", SCHED, "if warmup_steps > 0 and step < warmup_steps:",
           "if warmup_steps > 0 and step <= warmup_steps:", "boundary", "the warm-up includes its last step",
           equivalent="at step == warmup both branches give 1.0 (linear: start + (1 - start) * 1; cosine: "
                      "0.5 (1 + cos 0))"),
    Mutant("trn-06", "train", MET, "pred = np.asarray(prob)[None, :] >= np.asarray(thresholds)[:, None]",
           "pred = np.asarray(prob)[None, :] > np.asarray(thresholds)[:, None]", "boundary",
           "a probability equal to the threshold is class 0"),
    # --- affect ------------------------------------------------------------------------------------------
    Mutant("aff-01", "affect", EST, "return np.clip(va, -1.0, 1.0) if self.clip else va", "return va", "config",
           "estimator outputs beyond [-1, 1] stored unclipped"),
    Mutant("aff-02", "affect", EST, "return np.clip(va, -1.0, 1.0) if self.clip else va",
           "return np.clip(va, -1.0, 1.0)", "config", "clip=False ignored"),
]
