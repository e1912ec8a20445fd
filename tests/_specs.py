"""Spec files (TOML text) that several test modules write: small, fast studies on digits."""

from __future__ import annotations

#: TaylorGLO on digits-mlp, two generations of four; fill in ``name`` and ``steps``.
TINY = """
[study]
name = "{name}"
method = "taylorglo"
task = "digits-mlp"
generations = 2
seed = 0

[taylorglo]
population_size = 4

[training]
steps = {steps}
"""

#: A comparison of two named losses: 2 losses x 2 lengths x 3 seeds.
EVALUATE = """
[study]
name = "cmp"
method = "evaluate"
task = "digits-mlp"

[evaluate]
losses = ["baikal", "cross_entropy"]
steps = [20, 40]
seeds = 3
"""
