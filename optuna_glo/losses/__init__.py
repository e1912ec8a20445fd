"""Losses as pure math on tensors: no Optuna here.

Every loss is an ``nn.Module`` called like ``torch.nn.CrossEntropyLoss``: ``loss(logits, target)``.
"""

from optuna_glo.losses._base import EPS, ClassificationLoss, PointwiseLoss, safe_div, safe_log
from optuna_glo.losses._binary import binary_view
from optuna_glo.losses._formula import CROSS_ENTROPY_FORMULA, readable_formula
from optuna_glo.losses._invariant import invariant_margin, invariant_violation
from optuna_glo.losses._named import (
    BAIKAL_CMA_COEFFICIENTS,
    NAMED_LOSSES,
    TAYLORGLO_MNIST_THETA,
    Baikal,
    BaikalCMA,
    CrossEntropy,
    get_loss,
    taylorglo_mnist,
)
from optuna_glo.losses._notation import FORMULA_LEGEND, format_number
from optuna_glo.losses._taylor import (
    DEFAULT_TAYLOR_FORM,
    TAYLOR_FORMS,
    TaylorGLOLoss,
    check_taylor_form,
    n_taylor_params,
    order_from_n_params,
    taylor_formula,
    taylor_pointwise,
    taylor_terms,
    term_factorials,
)

__all__ = [
    "BAIKAL_CMA_COEFFICIENTS",
    "CROSS_ENTROPY_FORMULA",
    "DEFAULT_TAYLOR_FORM",
    "EPS",
    "FORMULA_LEGEND",
    "NAMED_LOSSES",
    "TAYLORGLO_MNIST_THETA",
    "TAYLOR_FORMS",
    "Baikal",
    "BaikalCMA",
    "ClassificationLoss",
    "CrossEntropy",
    "PointwiseLoss",
    "TaylorGLOLoss",
    "binary_view",
    "check_taylor_form",
    "format_number",
    "get_loss",
    "invariant_margin",
    "invariant_violation",
    "n_taylor_params",
    "order_from_n_params",
    "readable_formula",
    "safe_div",
    "safe_log",
    "taylor_formula",
    "taylor_pointwise",
    "taylor_terms",
    "taylorglo_mnist",
    "term_factorials",
]
