"""Statistics of the study (paper §3.4, §4.3): DeLong, Fisher, pooling, BH, GEE, Type III ANOVA."""
from eifer.stats.anova import type3_anova, type3_anova_many

__all__ = ["type3_anova", "type3_anova_many"]
