"""optuna-dashboard's own API, on studies made by a real worker: what a user sees in the browser.

The dashboard's WSGI app (``optuna_dashboard.wsgi``) is called as its server would call it, and
the JSON its web page reads is checked: the metric's name, a note with the formula and the loss
picture on every trial, the picture served, and no study user attr over 10 kB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import optuna
import pytest
from _evaluation_studies import tiny_spec
from optuna.artifacts import FileSystemArtifactStore
from optuna_dashboard import wsgi

from optuna_glo import load_loss
from optuna_glo.cli import main
from optuna_glo.keys import CACHED_FROM_ATTR
from optuna_glo.losses import readable_formula
from optuna_glo.reports.artifacts import ATTR_LIMIT
from optuna_glo.runtime.spec import StudySpec
from optuna_glo.runtime.study import create_study


def _glo_spec() -> StudySpec:
    """GLO on digits-mlp: 2 GP generations of 4, then one CMA-ES generation of 4."""
    return StudySpec.from_dict({
        "study": {"name": "tiny", "method": "glo", "task": "digits-mlp", "generations": 2,
                  "seed": 0},
        "glo": {"population_size": 4, "n_elites": 1, "coefficient_generations": 1,
                "coefficient_population_size": 4},
        "training": {"steps": 20},
    })


def _get(app: Any, path: str) -> tuple[str, dict[str, str], bytes]:
    """One GET request through the WSGI app: status, headers, body."""
    environ: dict[str, Any] = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> None:
        started.append((status, headers))

    body = b"".join(app(environ, start_response))
    status, headers = started[0]
    return status, dict(headers), body


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "n_trials"), [(tiny_spec(), 4), (_glo_spec(), 12)])
def test_the_dashboard_shows_the_metric_and_each_trials_loss(
    tmp_path: Path, spec: StudySpec, n_trials: int
) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    create_study(spec, url)
    args = ["worker", "--study", "tiny", "--storage", url, "--n-trials", str(n_trials),
            "--no-progress", "--device", "cpu", "--heartbeat-interval", "0"]
    assert main(args) == 0
    study = optuna.load_study(study_name="tiny", storage=url)
    app = wsgi(url, artifact_store=FileSystemArtifactStore(tmp_path / "study-artifacts"))

    status, _, body = _get(app, "/api/studies")
    assert status.startswith("200")
    (summary,) = json.loads(body)["study_summaries"]
    status, _, body = _get(app, f"/api/studies/{summary['study_id']}")
    assert status.startswith("200")
    detail = json.loads(body)

    assert detail["objective_names"] == ["validation accuracy"]
    assert len(detail["trials"]) == n_trials
    for shown in detail["trials"]:
        trial = study.trials[shown["number"]]
        note = shown["note"]["body"]
        assert f"**{readable_formula(load_loss(trial))}**" in note
        assert "one-hot target" in note and "softmax prediction" in note
        (picture,) = shown["artifacts"]
        image = f"/artifacts/{summary['study_id']}/{shown['trial_id']}/{picture['artifact_id']}"
        assert f"]({image})" in note  # the note shows the picture ...
        status, headers, png = _get(app, image)  # ... and the dashboard serves it
        assert status.startswith("200") and headers["Content-Type"] == "image/png"
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        # Its learning curve: the validation accuracies reported while it trained, as stored.
        curve = {int(p["step"]): float(p["value"]) for p in shown["intermediate_values"]}
        assert curve == trial.intermediate_values
        if trial.value and CACHED_FROM_ATTR not in trial.user_attrs:  # trained, not a cached copy
            assert curve, f"trial {trial.number} trained but reported no learning curve"
            assert max(curve) <= 20 and all(0.0 <= v <= 1.0 for v in curve.values())
    assert any(t.intermediate_values for t in study.trials)
    best = study.best_trial
    assert detail["note"]["body"].startswith(
        f"## optuna-glo: tiny\n\n**Best loss**: trial {best.number}, validation accuracy"
    )
    assert f"**{readable_formula(load_loss(best))}**" in detail["note"]["body"]
    # Every study user attr is small, as the dashboard shows it and as it is stored.
    assert detail["user_attrs"] and all(
        len(a["value"].encode()) < ATTR_LIMIT for a in detail["user_attrs"]
    )
    assert all(len(json.dumps(v).encode()) < ATTR_LIMIT for v in study.user_attrs.values())
