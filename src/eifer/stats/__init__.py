"""Statistics of the study (paper §3.4, §4.3; SPEC §4).

DeLong tests for ROC-AUCs, Fisher's and Stouffer's combination, fixed- and random-effects pooling
(with Cochran's Q, I², τ²), the paired sign-flip test over repetitions,
Benjamini–Hochberg FDR, binomial GEE for item-level correctness and the
Type III two-way ANOVA of the cutoff sweep. All validated against R
(pROC, geepack, car, metafor) in ``tests/fixtures``.
"""
from eifer.stats.anova import type3_anova, type3_anova_many
from eifer.stats.combine import bh_fdr, fisher_combine, pool_inverse_variance
from eifer.stats.compare import compare_groups, compare_groups_by_rep, delong_by_rep
from eifer.stats.delong import AucCI, DelongResult, delong_auc_ci, delong_test
from eifer.stats.gee import gee_group_effects
from eifer.stats.meta import RandomEffectsResult, pool_random_effects, stouffer_combine
from eifer.stats.permutation import SignFlipResult, model_permutation_test, paired_signflip_test
from eifer.stats.resamples import compare_over_resamples, resample_estimates
from eifer.stats.stage import run_stats
from eifer.stats.tables import stats_markdown, stats_table, write_stats_tables

__all__ = ["type3_anova", "type3_anova_many", "bh_fdr", "fisher_combine", "pool_inverse_variance",
           "AucCI", "DelongResult", "delong_auc_ci", "delong_test", "gee_group_effects",
           "model_permutation_test", "paired_signflip_test", "SignFlipResult", "pool_random_effects",
           "RandomEffectsResult", "stouffer_combine", "compare_groups", "compare_groups_by_rep", "delong_by_rep",
           "run_stats",
           "compare_over_resamples", "resample_estimates", "stats_markdown", "stats_table", "write_stats_tables"]
