"""Study specs: declarative TOML files in ``studies/`` that the CLI reads.

A spec names the method, the task, the sampler settings and the budget::

    [study]
    name = "quickstart"
    method = "taylorglo"
    task = "digits-mlp"
    n_trials = 280
    seed = 0

    [taylorglo]
    population_size = 28

    [training]
    steps = 300

The whole spec, defaults filled in, is stored in the study's user attributes, so a worker needs
only the study name and the storage. Every key is checked: an unknown key, a missing one or a
value of the wrong type is a :class:`SpecError` naming the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optuna_glo.keys import MAX_TRIALS, UNRECORDED_TAYLOR_FORM
from optuna_glo.losses import DEFAULT_TAYLOR_FORM, TAYLOR_FORMS
from optuna_glo.objectives import CRN_MODES
from optuna_glo.runtime._spec_tables import SpecError, build_table
from optuna_glo.runtime.pruners import PrunerSettings
from optuna_glo.runtime.spec_population import EPBTSettings, PBTSettings, check_population


@dataclass(frozen=True)
class AbortRetrySettings:
    """TaylorGLO appendix A.5's abort-and-retry rule (see ``objectives.AbortRule``)."""

    check_step: int
    min_accuracy: float = 0.15
    max_retries: int = 2


@dataclass(frozen=True)
class TrainingSettings:
    """How each candidate is trained.

    Attributes:
        steps: Partial-training steps per candidate (default: the task recipe's).
        lr: Learning rate (default: the task recipe's, tuned for cross-entropy on our own tasks).
        common_random_numbers: Which candidates share one model initialisation and batch order,
            so they are compared on equal terms (``objectives.CRN_MODES``): ``"generation"``
            (default: those of one generation, each generation new ones, seeded by ``[study]
            seed`` and the generation), ``"study"`` (all, one seed) or ``"none"`` (the trial
            number varies both). The boolean of older specs reads as ``true`` = ``"study"``,
            ``false`` = ``"none"``.
        abort_retry: TaylorGLO's abort-and-retry rule, off by default.
        population_batch: Workers train up to this many trials together as one population
            (within one CMA-ES generation; vectorized where the device measured it faster);
            a worker's ``--population-batch`` overrides it. Default: one trial at a time.
        eval_every: Steps between checkpoints, where each candidate reports its validation
            accuracy to its trial (learning curves; ``[pruner]`` acts there). Default: ten
            checkpoints per run; 0: only the final value.
    """

    steps: int | None = None
    lr: float | None = None
    common_random_numbers: str = "generation"
    abort_retry: AbortRetrySettings | None = None
    population_batch: int | None = None
    eval_every: int | None = None


@dataclass(frozen=True)
class LRRange:
    """``[taylorglo] search_lr = { low = ..., high = ... }``: the learning rates CMA-ES searches."""

    low: float
    high: float


@dataclass(frozen=True)
class TaylorGLOSettings:
    """TaylorGLO's CMA-ES (TaylorGLO section 5): lambda 28 on MNIST, sigma 1.2, mean 0, order 3.

    ``form`` is the loss's parameterization (``optuna_glo.losses.TaylorGLOLoss``): ``"code"``, the
    authors' released code, in which the published thetas were found (default), or ``"eq5"``, the
    paper's eq. 5 as printed. ``invariant_check`` skips, untrained at fitness 0, a candidate that
    fails the authors' invariant (``optuna_glo.losses.invariant_violation``; their released
    code, not the paper): on by default as in their code and their MNIST runs; their CIFAR runs
    mostly turned it off. A stored spec without these keys predates them: it reads as
    ``form = "eq5"`` and ``invariant_check = false``, what it ran with. ``search_lr`` adds the
    learning rate, on a log scale between its ``low`` and ``high``, to the CMA-ES space
    (``optuna_glo.suggest.suggest_taylor_lr``); off by default (the task's rate).
    """

    order: int = 3
    population_size: int = 28
    sigma0: float = 1.2
    bound: float = 20.0
    form: str = DEFAULT_TAYLOR_FORM
    invariant_check: bool = True
    search_lr: LRRange | None = None


@dataclass(frozen=True)
class GLOSettings:
    """GLO (GLO section III): genetic-programming loss discovery, then CMA-ES on coefficients.

    ``[study] generations`` counts the discovery generations; ``coefficient_generations`` CMA-ES
    generations of ``coefficient_population_size`` then tune the best tree's coefficients in the
    same study (0: discovery only). Defaults are GLO III-A/B's settings.
    """

    population_size: int = 80  # GLO III-A
    n_elites: int = 6  # GLO III-A
    crossover_prob: float = 0.8  # GLO III-A
    integer_mutation_prob: float = 0.05  # GLO III-A
    same_arity_mutation_prob: float = 0.05  # GLO III-A
    shrink_mutation_prob: float = 0.025  # GLO III-A: 5% * 50%
    grow_mutation_prob: float = 0.025  # GLO III-A: 5% * 50%
    init_max_depth: int = 2  # GLO III-A
    max_depth: int = 17  # Koza's limit; GLO states none
    coefficient_generations: int = 0
    coefficient_population_size: int = 10  # GLO names no lambda; CMA-ES's 4 + 3 ln n is 8-10
    coefficient_sigma0: float = 1.5  # GLO III-B
    coefficient_bound: float = 10.0  # every coefficient in [-bound, bound]

    @property
    def extra_trials(self) -> int:
        """Trials of the coefficient phase, beyond the discovery generations."""
        return self.coefficient_generations * self.coefficient_population_size


@dataclass(frozen=True)
class EvaluateSettings:
    """A comparison of fixed losses (no search): every loss x length x seed is one trial.

    Attributes:
        losses: Named losses (``optuna_glo.losses.NAMED_LOSSES``) to compare.
        steps: Training lengths.
        seeds: Models per loss and length, each with its own seed.
        split: The split whose accuracy is the trial's value: ``"test"`` or ``"val"``.
    """

    losses: tuple[str, ...]
    steps: tuple[int, ...]
    seeds: int = 5
    split: str = "test"

    @property
    def n_trials(self) -> int:
        return len(self.losses) * len(self.steps) * self.seeds


@dataclass(frozen=True)
class StudySettings:
    """The ``[study]`` table."""

    name: str
    method: str
    task: str
    n_trials: int | None = None
    generations: int | None = None
    seed: int = 0
    description: str = ""


#: Method-specific tables: ``[taylorglo]`` etc. Methods register theirs here.
METHOD_SETTINGS: dict[str, type] = {
    "taylorglo": TaylorGLOSettings,
    "glo": GLOSettings,
    "evaluate": EvaluateSettings,
    "epbt": EPBTSettings,
    "pbt": PBTSettings,
}


@dataclass(frozen=True)
class StudySpec:
    """A parsed, validated study spec."""

    study: StudySettings
    training: TrainingSettings = field(default_factory=TrainingSettings)
    method_settings: Any = None
    pruner: PrunerSettings = field(default_factory=PrunerSettings)

    @property
    def name(self) -> str:
        return self.study.name

    @property
    def method(self) -> str:
        return self.study.method

    @property
    def population_size(self) -> int | None:
        return getattr(self.method_settings, "population_size", None)

    @property
    def batch_period(self) -> int | None:
        """A worker's batch of trials never crosses a multiple of this: every generation
        boundary is one (the population size; for EPBT the gcd of p and p - k)."""
        return getattr(self.method_settings, "batch_period", self.population_size)

    @property
    def n_trials(self) -> int:
        """The trial budget: ``n_trials``, or ``generations`` times the population size."""
        if isinstance(self.method_settings, EvaluateSettings):
            return self.method_settings.n_trials
        if self.study.n_trials is not None:
            return self.study.n_trials
        if isinstance(self.method_settings, (EPBTSettings, PBTSettings)):
            assert self.study.generations is not None
            return self.method_settings.n_trials(self.study.generations)
        assert self.study.generations is not None and self.population_size is not None
        extra = getattr(self.method_settings, "extra_trials", 0)
        return self.study.generations * self.population_size + extra

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data, defaults filled in (what is stored in the study)."""
        out: dict[str, Any] = {
            "study": dataclasses.asdict(self.study),
            "training": dataclasses.asdict(self.training),
        }
        if self.method_settings is not None:
            out[self.method] = dataclasses.asdict(self.method_settings)
        if self.pruner != PrunerSettings():  # specs without pruners stay as they were stored
            out["pruner"] = self.pruner.to_dict()
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "spec") -> StudySpec:
        """Validate plain data (a parsed TOML file or a stored spec)."""
        data = dict(data)
        if "study" not in data:
            raise SpecError(f"{source}: missing table [study] (with name, method and task).")
        study = build_table(StudySettings, data.pop("study"), "study", source)
        if study.method not in METHOD_SETTINGS:
            raise SpecError(
                f"{source}: [study] method = {study.method!r} is unknown. Known methods: "
                f"{', '.join(sorted(METHOD_SETTINGS))}."
            )
        training_table = data.pop("training", {})
        if isinstance(training_table, dict):
            training_table = _legacy_crn(training_table)
        training = build_table(TrainingSettings, training_table, "training", source)
        settings_cls = METHOD_SETTINGS[study.method]
        method_settings = build_table(
            settings_cls, data.pop(study.method, {}), study.method, source
        )
        try:
            pruner = PrunerSettings.from_table(data.pop("pruner", {}))
        except ValueError as err:
            raise SpecError(f"{source}: {err}") from None
        if data:
            known = ["study", "training", study.method, "pruner"]
            raise SpecError(
                f"{source}: unknown table(s) {', '.join(f'[{k}]' for k in sorted(data))} for "
                f"method {study.method!r}. Known tables: {', '.join(f'[{k}]' for k in known)}."
            )
        spec = cls(study, training, method_settings, pruner)
        spec._check(source)
        return spec

    def _check(self, source: str) -> None:
        """Checks across tables (each table's own numbers are checked by :func:`_build`)."""
        s = self.study
        if isinstance(self.method_settings, EvaluateSettings):
            self._check_evaluate(source, self.method_settings)
        else:
            if isinstance(self.method_settings, (EPBTSettings, PBTSettings)):
                try:
                    check_population(s.method, self.method_settings, s.generations, s.n_trials)
                except ValueError as err:
                    raise SpecError(f"{source}: {err}") from None
            if (s.n_trials is None) == (s.generations is None):
                raise SpecError(
                    f"{source}: [study] needs exactly one of `n_trials` and `generations`."
                )
            if s.generations is not None and self.population_size is None:
                raise SpecError(
                    f"{source}: [study] generations needs a population size; method {s.method!r} "
                    "has none. Use `n_trials`."
                )
        if self.n_trials > MAX_TRIALS:
            raise SpecError(
                f"{source}: the budget must be at most {MAX_TRIALS:,} trials (Optuna reads every "
                f"trial of a study for each ask). This spec's budget is {self.n_trials:,}."
            )
        batch, population = self.training.population_batch, self.population_size
        if batch is not None and population is not None and batch > population:
            raise SpecError(
                f"{source}: [training] population_batch must be at most the population size "
                f"({population}): a batch never crosses a generation. The specified value is "
                f"{batch}."
            )
        abort, steps = self.training.abort_retry, self.training.steps
        if abort is not None and steps is not None and abort.check_step >= steps:
            raise SpecError(
                f"{source}: [training.abort_retry] check_step must be less than [training] steps "
                f"({steps}). The specified value is {abort.check_step}."
            )
        self._check_search_lr(source)
        crn = self.training.common_random_numbers
        if crn not in CRN_MODES:
            raise SpecError(
                f"{source}: [training] common_random_numbers must be one of "
                f"{', '.join(map(repr, CRN_MODES))}, got {crn!r}."
            )
        form = getattr(self.method_settings, "form", None)
        if isinstance(self.method_settings, TaylorGLOSettings) and form not in TAYLOR_FORMS:
            raise SpecError(
                f"{source}: [taylorglo] form must be one of {', '.join(map(repr, TAYLOR_FORMS))} "
                f"(the authors' code, or eq. 5 as printed), got {form!r}."
            )
        every = self.training.eval_every
        if every is not None and every < 0:
            raise SpecError(f"{source}: [training] eval_every must be >= 0, got {every}.")

    def _check_search_lr(self, source: str) -> None:
        r = getattr(self.method_settings, "search_lr", None)
        if r is not None and not 0 < r.low < r.high:
            raise SpecError(
                f"{source}: [taylorglo] search_lr must satisfy 0 < low < high, got low = {r.low}, "
                f"high = {r.high}."
            )

    def _check_evaluate(self, source: str, e: EvaluateSettings) -> None:
        if self.study.n_trials is not None or self.study.generations is not None:
            raise SpecError(
                f"{source}: method 'evaluate' trains every loss x steps x seed once; its budget "
                "comes from [evaluate], so [study] takes no `n_trials` or `generations`."
            )


def _legacy_crn(table: dict[str, Any]) -> dict[str, Any]:
    """``[training] common_random_numbers`` as a mode: the boolean of older specs, translated."""
    value = table.get("common_random_numbers")
    if isinstance(value, bool):
        return {**table, "common_random_numbers": "study" if value else "none"}
    return table


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a TOML spec file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"Spec file {str(path)!r} does not exist.") from None
    except IsADirectoryError:
        raise SpecError(f"Spec {str(path)!r} is a directory: give a TOML file in it.") from None
    except UnicodeDecodeError as err:
        raise SpecError(
            f"Spec file {str(path)!r} is not UTF-8 text (byte {err.start}): TOML files are UTF-8."
        ) from None
    except OSError as err:
        raise SpecError(f"Cannot read spec file {str(path)!r}: {err.strerror}.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}.") from None
    return StudySpec.from_dict(data, source=str(path))


def spec_from_json(text: str) -> StudySpec:
    """The spec stored in a study (data from a shared database: checked like a spec file).

    A stored TaylorGLO spec without ``[taylorglo] form`` or ``invariant_check`` was written before
    they existed, when every TaylorGLO loss was an eq. 5 loss and every candidate was trained: it
    reads as ``form = "eq5"``, ``invariant_check = false``, so a worker joining an old study keeps
    searching the way it started.
    """
    source = "the study's stored spec"
    try:
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise SpecError(f"{source} is not JSON: the storage holds a value optuna-glo did not "
                        "write.") from None
    if not isinstance(data, dict):
        raise SpecError(f"{source} must be a JSON object of tables, got a "
                        f"{type(data).__name__}: the storage holds a value optuna-glo did not "
                        "write.")
    if isinstance(data.get("taylorglo"), dict):
        data["taylorglo"].setdefault("form", UNRECORDED_TAYLOR_FORM)
        data["taylorglo"].setdefault("invariant_check", False)
    return StudySpec.from_dict(data, source=source)


# --------------------------------------------------------------------------------------------
