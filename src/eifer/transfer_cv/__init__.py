"""The ``transfer-cv`` stage: ResNet50 / VGG16 by stratified group k-fold CV with gradual unfreezing (paper §3.5).

:func:`cross_validate` trains every fold (:func:`fit_gradual`), :func:`run_transfer_cv` is the stage runner
(``models_cv/``, Tables 5 and 6).
"""
from eifer.transfer_cv.core import cross_validate, cv_folds, plan_cv
from eifer.transfer_cv.fit import CVSettings, fit_gradual
from eifer.transfer_cv.stage import cv_settings, run_transfer_cv

__all__ = ["CVSettings", "cross_validate", "cv_folds", "plan_cv", "cv_settings", "fit_gradual", "run_transfer_cv"]
