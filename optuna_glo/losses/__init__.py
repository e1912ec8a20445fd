"""Losses as pure math on tensors: no Optuna here.

Every loss is an ``nn.Module`` called like ``torch.nn.CrossEntropyLoss``: ``loss(logits, target)``.
"""

from optuna_glo.losses._base import EPS, ClassificationLoss, PointwiseLoss, safe_div, safe_log
from optuna_glo.losses._binary import binary_view
from optuna_glo.losses._formula import CROSS_ENTROPY_FORMULA, readable_formula
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
    TaylorGLOLoss,
    n_taylor_params,
    order_from_n_params,
    taylor_formula,
    taylor_pointwise,
    taylor_terms,
)

__all__ = [
    "BAIKAL_CMA_COEFFICIENTS",
    "CROSS_ENTROPY_FORMULA",
    "EPS",
    "FORMULA_LEGEND",
    "NAMED_LOSSES",
    "TAYLORGLO_MNIST_THETA",
    "Baikal",
    "BaikalCMA",
    "ClassificationLoss",
    "CrossEntropy",
    "PointwiseLoss",
    "TaylorGLOLoss",
    "binary_view",
    "format_number",
    "get_loss",
    "n_taylor_params",
    "order_from_n_params",
    "readable_formula",
    "safe_div",
    "safe_log",
    "taylor_formula",
    "taylor_pointwise",
    "taylor_terms",
    "taylorglo_mnist",
]
