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

#: EPBT on digits-mlp: 4 individuals (2 elites), 3 generations of 6-step segments; fill in
#: ``name``.
EPBT = """
[study]
name = "{name}"
method = "epbt"
task = "digits-mlp"
generations = 3
seed = 0

[epbt]
population_size = 4
n_elites = 2
segment_steps = 6
"""

#: PBT over the TaylorGLO parameters at EPBT's budget of segments; fill in ``name``.
PBT = """
[study]
name = "{name}"
method = "pbt"
task = "digits-mlp"
generations = 3
seed = 0

[pbt]
population_size = 4
segment_steps = 6
"""
