"""The OptunaHub packages in ``optunahub-registry/``: the registry's layout, loaded and run.

Every package directory under ``optunahub-registry/package/samplers/`` is checked, so a new one
(EPBT, ...) is tested as soon as it is copied from the pattern.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import optuna
import optunahub
import pytest
import torch
from optuna.trial import FrozenTrial, TrialState

import optuna_glo
from optuna_glo.keys import COEFFICIENT_TREE_KEY, THETA_PREFIX

optuna.logging.set_verbosity(optuna.logging.WARNING)
REGISTRY = Path(__file__).resolve().parents[2] / "optunahub-registry" / "package"
PACKAGES = sorted(p.name for p in (REGISTRY / "samplers").iterdir() if p.is_dir())
FRONT_MATTER = ("author", "title", "description", "tags", "optuna_versions", "license")


def _load(name: str) -> ModuleType:
    return optunahub.load_local_module(package=f"samplers/{name}", registry_root=str(REGISTRY))


def _example(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The package's example.py, its ``optunahub.load_module`` served from this directory."""
    monkeypatch.setattr(optunahub, "load_module", lambda package, **_: _load(package.split("/")[1]))
    spec = importlib.util.spec_from_file_location(
        f"{name}_example", REGISTRY / "samplers" / name / "example.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_samplers_the_readme_names_are_top_level_names() -> None:
    from optuna_glo import (  # noqa: F401  (importable is the test)
        GeneticProgrammingSampler,
        GLOSampler,
        TaylorGLOSampler,
        coefficient_sampler,
        taylorglo_sampler,
    )

    names = {"GeneticProgrammingSampler", "GLOSampler", "TaylorGLOSampler", "coefficient_sampler"}
    assert names <= set(optuna_glo.__all__)


@pytest.mark.parametrize("name", PACKAGES)
def test_a_package_has_the_registry_layout_and_re_exports_optuna_glo(name: str) -> None:
    directory = REGISTRY / "samplers" / name
    for file in ("__init__.py", "README.md", "LICENSE", "example.py", "requirements.txt"):
        assert (directory / file).is_file(), f"{name} lacks {file}"
    assert (directory / "LICENSE").read_text().startswith("MIT License")
    assert "optuna-glo" in (directory / "requirements.txt").read_text()
    readme = (directory / "README.md").read_text()
    header = re.match(r"---\n(.*?)\n---\n", readme, re.DOTALL)
    assert header is not None
    fields = dict(line.split(": ", 1) for line in header.group(1).splitlines())
    assert sorted(fields) == sorted(FRONT_MATTER)
    assert "sampler" in fields["tags"] and fields["license"] == "MIT License"
    for section in ("## Class or Function Names", "## Installation", "## Example", "## Others"):
        assert f"\n{section}\n" in readme
    listed = re.findall(r"^- (\w+)$", readme.split("## Class or Function Names")[1].split("##")[0],
                        re.MULTILINE)
    module = _load(name)
    assert sorted(listed) == sorted(module.__all__)
    for attr in listed:  # optuna-glo's own objects, not copies
        assert getattr(module, attr).__module__.startswith("optuna_glo.")


@pytest.mark.slow
def test_the_taylorglo_package_runs_its_example_objective(monkeypatch: pytest.MonkeyPatch) -> None:
    example = _example("taylorglo", monkeypatch)
    study = optuna.create_study(direction="maximize",
                                sampler=example.module.taylorglo_sampler(population_size=4, seed=0))
    study.optimize(example.objective, n_trials=8)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert all(len([p for p in t.params if p.startswith(THETA_PREFIX)]) == 8 for t in study.trials)
    assert sorted({t.system_attrs["cma:generation"] for t in study.trials}) == [0, 1]
    assert isinstance(example.module.load_loss(study), optuna_glo.losses.TaylorGLOLoss)


@pytest.mark.slow
def test_the_glo_package_runs_its_example_objective(monkeypatch: pytest.MonkeyPatch) -> None:
    example = _example("glo_genetic_programming", monkeypatch)
    gp = example.module.GeneticProgrammingSampler(population_size=4, n_elites=1, seed=0)
    sampler = example.module.GLOSampler(discovery_generations=1, gp_sampler=gp,
                                        coefficient_population_size=4, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def stop_in_the_coefficient_phase(study: optuna.Study, trial: FrozenTrial) -> None:
        if COEFFICIENT_TREE_KEY in trial.system_attrs and trial.state == TrialState.COMPLETE:
            study.stop()

    # Most random trees lack an x or a y: pruned, untrained, and not counted in the generation.
    study.optimize(example.objective, n_trials=200, callbacks=[stop_in_the_coefficient_phase])
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert pruned and all("loss_untrainable" in t.user_attrs for t in pruned)
    discovered = [t for t in study.trials if t.state == TrialState.COMPLETE
                  and COEFFICIENT_TREE_KEY not in t.system_attrs]
    assert len(discovered) == 4  # one GP generation of 4 trainable trees
    assert example.module.readable_formula(example.module.load_loss(study)).startswith("L(x, y)")


def test_the_epbt_package_runs_generations_whose_children_inherit_weights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = _example("epbt", monkeypatch)
    sampler = example.module.EPBTSampler(population_size=4, n_elites=2, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    loaded: list[tuple[int, int]] = []  # (trial, parent) whose weights the trial started from
    real_load = torch.nn.Module.load_state_dict

    def spy(model: torch.nn.Module, state: Any, *args: Any, **kwargs: Any) -> Any:
        number = study.trials[-1].number
        parent = [n for n, w in example.WEIGHTS.items() if w["model"] is state]
        loaded.append((number, *parent))
        return real_load(model, state, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "load_state_dict", spy)
    study.optimize(example.objective, n_trials=sampler.n_trials(generations=3))
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    generations = [example.module.generation_of(t) for t in study.trials]
    assert generations == [0, 0, 0, 0, 1, 1, 2, 2]
    parents = {t.number: example.module.parent_of(study, t) for t in study.trials}
    assert all(parents[n] is None for n in range(4))
    for child in range(4, 8):  # a child's parent is an individual of the previous population
        assert parents[child] is not None and generations[parents[child]] < generations[child]
    assert loaded == [(n, parents[n]) for n in range(4, 8)]
    assert all(len([p for p in t.params if p.startswith(THETA_PREFIX)]) == 8 for t in study.trials)
    loss = example.module.load_loss(study)
    assert isinstance(loss, optuna_glo.losses.TaylorGLOLoss)
    assert example.module.readable_formula(loss).startswith("L(x, y)")


def test_the_epbt_package_gives_pbt_for_the_same_objective(monkeypatch: pytest.MonkeyPatch) -> None:
    # EPBT 4.1's baseline: every member trains every generation from a member's weights.
    example = _example("epbt", monkeypatch)
    sampler = example.module.PBTSampler(population_size=4, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(example.objective, n_trials=sampler.n_trials(generations=3))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 12
    assert [example.module.generation_of(t) for t in study.trials] == [0] * 4 + [1] * 4 + [2] * 4
    for child in study.trials[4:]:
        parent = example.module.parent_of(study, child)
        assert parent is not None
        assert example.module.generation_of(study.trials[parent]) == (
            example.module.generation_of(child) - 1
        )
