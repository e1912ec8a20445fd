"""Subtree-swap recombination (GLO section III-A).

"For a given pair of parent trees, a random element is chosen in each as a crossover point. The two
subtrees, whose roots are the two crossover points, are then swapped with each other ... Both
resultant trees become part of the next generation."
"""

from __future__ import annotations

import numpy as np

from optuna_glo.losses.trees import Node, iter_paths, replace_at, subtree_at


def subtree_crossover(a: Node, b: Node, rng: np.random.Generator) -> tuple[Node, Node]:
    """Swap a uniformly random subtree of ``a`` with one of ``b``; return both children."""
    paths_a = [path for path, _ in iter_paths(a)]
    paths_b = [path for path, _ in iter_paths(b)]
    pa = paths_a[int(rng.integers(len(paths_a)))]
    pb = paths_b[int(rng.integers(len(paths_b)))]
    return replace_at(a, pa, subtree_at(b, pb)), replace_at(b, pb, subtree_at(a, pa))
