"""Loss expression trees (GLO section III): nodes, text form, canonical form, compilation.

Pure math on tensors: no Optuna here. ``str(tree)`` and :func:`parse` are inverses; stored trees
are read by :func:`parse` only, never by ``eval``/``exec``.

Example::

    from optuna_glo.losses.trees import TreeLoss, parse

    baikal = TreeLoss(parse("log(y) - x / y"))   # a drop-in for nn.CrossEntropyLoss
"""

from optuna_glo.losses.trees._canonical import (
    MAX_EXPANDED_TERMS,
    canonical_key,
    canonicalize,
    prediction_dependence,
)
from optuna_glo.losses.trees._coefficients import free_coefficient_paths, with_coefficients
from optuna_glo.losses.trees._compile import (
    TreeLoss,
    evaluate,
    fitness_key,
    safe_sqrt,
    untrainable_reason,
)
from optuna_glo.losses.trees._display import readable_tree
from optuna_glo.losses.trees._grammar import (
    MAX_COEFFICIENT,
    MAX_INTEGER,
    MAX_TEXT_LENGTH,
    TreeSyntaxError,
    parse,
)
from optuna_glo.losses.trees._nodes import (
    ARITY,
    BINARY_OPS,
    CONST,
    MAX_TREE_DEPTH,
    UNARY_OPS,
    VARIABLES,
    Node,
    Path,
    const,
    depth,
    format_tree,
    has_variable,
    iter_paths,
    iter_postorder,
    leaf,
    replace_at,
    reset_coefficients,
    size,
    subtree_at,
    with_coefficient,
)
from optuna_glo.losses.trees._random import (
    DEFAULT_NODE_WEIGHTS,
    check_node_weights,
    choose_element,
    element_arity,
    random_leaf,
    random_node_with_leaves,
    random_tree,
)

__all__ = [
    "ARITY",
    "BINARY_OPS",
    "CONST",
    "DEFAULT_NODE_WEIGHTS",
    "MAX_COEFFICIENT",
    "MAX_EXPANDED_TERMS",
    "MAX_INTEGER",
    "MAX_TEXT_LENGTH",
    "MAX_TREE_DEPTH",
    "UNARY_OPS",
    "VARIABLES",
    "Node",
    "Path",
    "TreeLoss",
    "TreeSyntaxError",
    "canonical_key",
    "canonicalize",
    "check_node_weights",
    "choose_element",
    "const",
    "depth",
    "element_arity",
    "evaluate",
    "fitness_key",
    "format_tree",
    "free_coefficient_paths",
    "has_variable",
    "iter_paths",
    "iter_postorder",
    "leaf",
    "parse",
    "prediction_dependence",
    "random_leaf",
    "random_node_with_leaves",
    "random_tree",
    "readable_tree",
    "replace_at",
    "reset_coefficients",
    "safe_sqrt",
    "size",
    "subtree_at",
    "untrainable_reason",
    "with_coefficient",
    "with_coefficients",
]
