"""The names every layer shares: trial and study attribute keys, parameter prefixes and bounds.

This module is the bottom layer of optuna-glo (``docs/design.md``): plain constants, no imports,
so that the sampler that writes a key and the report that reads it name it once.
"""

from __future__ import annotations

# -- Parameters

#: Prefix of the TaylorGLO parameter names in a trial: ``taylor_theta_0``, ``taylor_theta_1``, ...
THETA_PREFIX = "taylor_theta_"

#: Default bounds of every TaylorGLO parameter. They must contain the paper's best MNIST theta
#: (TaylorGLO appendix C: |theta| up to 12.67, in the default "code" form that it was found in)
#: with room to move past it; CMA-ES starts at 0 with step size 1.2 (section 5), so the bounds
#: only matter far from the start. In the "eq5" form the same loss needs n * a! b! times larger
#: coefficients (253 for appendix C on 10 classes), so +/-20 there holds only weaker losses.
THETA_BOUNDS = (-20.0, 20.0)

#: The TaylorGLO form (``losses._taylor``) of trials and specs stored without one: before
#: optuna-glo recorded the form, every TaylorGLO loss it made was an eq. 5 loss.
UNRECORDED_TAYLOR_FORM = "eq5"

#: TaylorGLO's optional learning-rate dimension (``[taylorglo] search_lr``): CMA-ES samples this
#: coordinate in the thetas' bounds, and ``suggest.suggest_taylor_lr`` maps it linearly onto
#: [log low, log high] of the spec's rates, so the learning rate is searched on a log scale.
LR_COORDINATE_PARAM = "taylor_lr_coordinate"

#: Prefix of GLO's coefficient-phase parameter names: ``glo_c0``, ``glo_c1``, ...
COEFFICIENT_PREFIX = "glo_c"

#: The SGD hyperparameters PBT's third baseline tunes (EPBT section 4.1: "PBT set to optimize the
#: learning rate and momentum of SGD with the standard cross-entropy loss function").
SGD_LR_PARAM = "sgd_lr"
SGD_MOMENTUM_PARAM = "sgd_momentum"

#: Bounds of every free coefficient of a GLO tree. Merged coefficients reach past +/-4
#: (BaikalCMA's ``c0 * c3 * c4`` is -4.17), so the bounds leave room around the start at 1.
COEFFICIENT_BOUNDS = (-10.0, 10.0)

# -- Size bounds: every spec value, flag and stored value that sizes work is checked against these

#: Highest TaylorGLO order a spec may ask for and a trial may be read back with. Order ``k`` has
#: ``2 + k (k + 1) / 2`` parameters (TaylorGLO eq. 5; the paper's order 3 has 8, order 20 has
#: 212). CMA-ES keeps a covariance matrix of the parameter count squared and decomposes it every
#: generation, so the cost grows with the fourth power of the order: order 200 (20,102
#: parameters) needs a 3 GB matrix, while order 20's is 360 kB. Terms up to ``(x - theta_0)^20``
#: also stay finite in float32 for labels and outputs in [0, 1] and ``|theta_0|`` up to 20.
MAX_TAYLOR_ORDER = 20

#: Largest ``|c|`` of a coefficient a stored loss may carry: a constant ``{c}`` in a tree's text
#: (``losses.trees`` explains the value) and a TaylorGLO parameter read back from a trial. A
#: spec's search bounds stay within it, so that every trial a search makes can be read back.
MAX_COEFFICIENT = 1e9

#: Largest population (CMA-ES lambda, GP population) of a spec. The papers use 20 to 80
#: (TaylorGLO section 5: 28 on MNIST; GLO III-A: 80); a generation is complete only when all of
#: its trials are trained, and the samplers read a whole generation from the storage per ask.
MAX_POPULATION_SIZE = 10_000

#: Largest trial budget of a study. Optuna reads a study's trials for every ask and tell, so a
#: million rows is already far more than a search needs (the papers use a few thousand).
MAX_TRIALS = 1_000_000

#: Most trials a worker claims and trains together (batch mode). A batch's trials are claimed
#: one storage round trip at a time and stay RUNNING until the whole batch is trained, so a
#: worker that dies gives all of them back at once.
MAX_POPULATION_BATCH = 1_024

#: Most training steps of one run: over 50 times the longest full training of the shipped tasks
#: (SVHN ResNet-32, 179,480 steps); a larger value is a typing mistake, not a plan.
MAX_STEPS = 10_000_000

# -- Trial user attributes (shown by optuna-dashboard)

#: A trial's loss as a readable formula.
FORMULA_ATTR = "loss_formula"
#: A TaylorGLO trial's form: "code" or "eq5" (``losses._taylor``).
TAYLOR_FORM_ATTR = "taylor_form"
#: A GLO trial's expression tree as text (with tuned coefficients in the coefficient phase).
TREE_ATTR = "loss_tree"
#: How the GP sampler made a tree ("random", "elite", "crossover", "copy").
ORIGIN_ATTR = "loss_origin"
#: The number of the trial whose value a fitness-cache hit reused.
CACHED_FROM_ATTR = "loss_cached_from"
#: Why a tree was scored without training (no x, no y, constant in y).
UNTRAINABLE_ATTR = "loss_untrainable"

#: The learning rate a trial's candidate trains with, when the search chose it (absent: the task's).
LR_ATTR = "lr"

# -- Trial system attributes

#: The CMA-ES generation a trial's candidate was drawn from (``samplers.cmaes``).
CMA_GENERATION_KEY = "cma:generation"
#: A GP trial's generation: ``optuna.samplers.BaseGASampler``'s key of the GP sampler.
GP_GENERATION_KEY = "GeneticProgrammingSampler:generation"

#: The GP sampler's tree text, written in ``before_trial``; read back with the project's parser.
TREE_KEY = "GeneticProgrammingSampler:tree"
#: The fitness-cache key of a GP trial's tree (``losses.trees.fitness_key``).
CANONICAL_KEY = "GeneticProgrammingSampler:canonical"
#: The number of the trial whose value a fitness-cache hit reused.
CACHED_FROM_KEY = "GeneticProgrammingSampler:cached_from"
#: A GLO coefficient-phase trial: the text of the tree whose coefficients it tunes.
COEFFICIENT_TREE_KEY = "GLOSampler:coefficient_tree"
#: The number of the trial a worker gave back, on the retry that re-runs it.
GIVEN_BACK_ATTR = "optuna_glo:given_back_from"
#: Trial system attr: the trial's last heartbeat (Unix seconds), in storages without Optuna's
#: heartbeats (journal files, Redis, the gRPC proxy).
HEARTBEAT_ATTR = "optuna_glo:heartbeat"

# -- Population-based training (EPBT, PBT): trial system attributes written by the samplers in
#    ``optuna_glo.samplers.pbt`` and read by the worker (which weights to load) and the reports.

#: A trial's generation: ``optuna.samplers.BaseGASampler``'s key, one per sampler class.
EPBT_GENERATION_KEY = "EPBTSampler:generation"
PBT_GENERATION_KEY = "PBTSampler:generation"
#: The number of the trial whose final weights this trial starts from (absent or None: fresh
#: weights, as in generation 0).
PARENT_KEY = "optuna_glo:pbt:parent"
#: The number of the generation-0 trial whose weights this trial's weights descend from.
LINEAGE_KEY = "optuna_glo:pbt:lineage"
#: The hyperparameter values the sampler gave the trial, ``{name: value}``.
ASSIGNED_KEY = "optuna_glo:pbt:assigned"
#: ``[ordinal, claimant]``: the trial's place in the run's sequence of slots and the number of the
#: trial that claimed it (a retried copy keeps both).
TICKET_KEY = "optuna_glo:pbt:ticket"
#: Trial user attribute: how the sampler made the trial, in words (shown by optuna-dashboard).
POPULATION_ORIGIN_ATTR = "population_origin"

# -- Study attributes

#: The study's spec (JSON), written by ``create-study``.
SPEC_ATTR = "optuna_glo:spec"
#: Cross-entropy trained exactly like the candidates (``optuna-glo run``'s comparison line).
BASELINE_ATTR = "optuna_glo:baseline"
#: Prefix of the stored evaluation reports (``optuna-glo evaluate``).
EVALUATION_ATTR = "optuna_glo:evaluation"
#: The stored schedule evaluation of an EPBT or PBT study (``optuna-glo evaluate``, EPBT Table 2);
#: outside :data:`EVALUATION_ATTR`'s prefix, whose reports are loss tables.
SCHEDULE_EVALUATION_ATTR = "optuna_glo:schedule_evaluation"
