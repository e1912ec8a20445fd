"""``evaluate`` on EPBT and PBT studies: the best schedule retrained from scratch, segment by
segment, against cross-entropy trained as long and a PBT study's best (EPBT Table 2)."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from _evaluation_studies import FakeTrain, tiny_spec
from _specs import EPBT, PBT
from optuna.distributions import FloatDistribution
from optuna_dashboard import get_note

from optuna_glo.cli import main
from optuna_glo.losses import CrossEntropy, TaylorGLOLoss
from optuna_glo.objectives import SegmentOutcome, SegmentTrainer, TrainResult, get_task
from optuna_glo.reports.evaluation import (
    EVAL_SEED_BASE,
    TUNE_SEED_BASE,
    LRSearch,
    MethodRow,
    ResultsFile,
    Schedule,
    ScheduleSegment,
    _runner,
    _schedule_runs,
    compare_to_schedule,
    evaluate_population,
    population_markdown,
    retrain_schedules,
)
from optuna_glo.runtime.methods import population_member
from optuna_glo.runtime.spec import StudySpec
from optuna_glo.runtime.study import create_study

TASK = get_task("digits-mlp")


def _spec(text: str, name: str) -> StudySpec:
    import tomllib

    return StudySpec.from_dict(tomllib.loads(text.format(name=name)))


class FakeSegments:
    """Stands in for ``train_segments``: records each call; the model it hands on is a tensor
    counting the segments trained since fresh weights. A schedule's first segment is logged in
    ``log``."""

    def __init__(self, log: list[tuple[str, int]] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.log = [] if log is None else log

    def __call__(self, task, members, data, *, start_step, steps, data_seed, device, path,
                 **_: Any) -> list[SegmentOutcome]:
        [member] = members
        done = 0 if member.start is None else int(member.start.model["segments"])
        if done == 0:
            self.log.append(("schedule", member.seed))
        self.calls.append({"loss": member.loss, "seed": member.seed, "start_step": start_step,
                           "steps": steps, "inherited": done, "data_seed": data_seed})
        acc = 0.5 + 0.1 * (done + 1) + 0.001 * (member.seed % SEED_MOD)
        model = {"segments": torch.tensor(done + 1)}
        return [SegmentOutcome(TrainResult(acc, steps, test_accuracy=acc), model, None, "", "")]


SEED_MOD = 997


def _schedule(trainer: SegmentTrainer, label: str, generations: list[int]) -> Schedule:
    losses = [TaylorGLOLoss([float(g)] * 8, form="code") for g in generations]
    return Schedule(label, [ScheduleSegment(g, loss) for g, loss in zip(generations, losses,
                                                                        strict=True)], trainer)


def test_a_schedule_retrains_segment_by_segment_at_its_place(tmp_path: Path, monkeypatch) -> None:
    fake = FakeSegments()
    monkeypatch.setattr(_schedule_runs, "train_segments", fake)
    trainer = SegmentTrainer(TASK, segment_steps=5, device="cpu")
    # An elite carried over: the lineage skips generation 1.
    epbt = _schedule(trainer, "EPBT", [0, 2, 3])
    pbt = _schedule(trainer, "PBT", [0, 1])
    seeds = [EVAL_SEED_BASE, EVAL_SEED_BASE + 1]
    results = ResultsFile(tmp_path / "r.jsonl")
    records, trained = retrain_schedules([epbt, pbt], seeds, results, progress=False)
    assert trained == 4 and len(records) == 4
    # Seed r of every schedule before seed r + 1.
    firsts = [c for c in fake.calls if c["inherited"] == 0]
    assert [c["seed"] for c in firsts] == [1000, 1000, 1001, 1001]
    first_run = fake.calls[:3]
    assert [c["start_step"] for c in first_run] == [0, 10, 15]  # generation x segment steps
    assert [c["inherited"] for c in first_run] == [0, 1, 2]  # each from the previous segment
    assert [c["loss"] for c in first_run] == [s.loss for s in epbt.segments]
    # Batches shared by the two schedules' segments of one seed and position only.
    assert len({c["data_seed"] for c in fake.calls}) == len(fake.calls) - 4
    record = records[epbt.key(1000)]
    assert record["curve"] == [[5, pytest.approx(0.6 + 0.001 * (1000 % SEED_MOD))],
                               [10, pytest.approx(0.7 + 0.001 * ((1000 + 1_000_003) % SEED_MOD))],
                               [15, pytest.approx(0.8 + 0.001 * ((1000 + 2_000_006) % SEED_MOD))]]
    assert record["test_accuracy"] == record["curve"][-1][1]
    assert epbt.epochs == pytest.approx(3 * 5 / trainer.steps_per_epoch)
    # Resumed: nothing retrained; another schedule is another key.
    again = FakeSegments()
    monkeypatch.setattr(_schedule_runs, "train_segments", again)
    _, trained = retrain_schedules([epbt, pbt], seeds, ResultsFile(tmp_path / "r.jsonl"),
                                   progress=False)
    assert trained == 0 and again.calls == []
    assert _schedule(trainer, "EPBT", [0, 1, 3]).key(1000) != epbt.key(1000)


def test_population_evaluation_interleaves_seeds_across_methods(
    tmp_path: Path, monkeypatch
) -> None:
    log: list[tuple[str, int]] = []
    monkeypatch.setattr(_runner, "train", FakeTrain(log=log))
    monkeypatch.setattr(_schedule_runs, "train_segments", FakeSegments(log=log))
    trainer = SegmentTrainer(TASK, segment_steps=5, device="cpu")
    schedules = (_schedule(trainer, "EPBT", [0, 1]), [_schedule(trainer, "PBT", [0, 1, 2])])
    options: dict[str, Any] = {"results_path": tmp_path / "r.jsonl", "repeats": 3,
                               "tune_repeats": 1, "lr_factors": (0.3, 1.0, 3.0),
                               "progress": False, "announce": lambda s: None}
    report = evaluate_population(*schedules, **options)
    evaluation = [(kind, seed) for kind, seed in log if seed < TUNE_SEED_BASE]
    # Cross-entropy at the task's rate (the tuned one here) and two schedules, seed by seed.
    assert [seed for _, seed in evaluation] == [1000] * 3 + [1001] * 3 + [1002] * 3
    assert [kind for kind, _ in evaluation[:3]] == ["train", "schedule", "schedule"]
    assert report.trained == 3 + 9 and report.reused == 0
    assert [b.label for b in report.baselines] == ["cross_entropy (lr 1)", "PBT"]
    assert report.schedule.epochs == pytest.approx(10 / trainer.steps_per_epoch)
    log.clear()
    again = evaluate_population(*schedules, **options)
    assert log == [] and again.trained == 0 and again.reused == 12
    # With the learning-rate cache: its hits are not counted as taken from the results file.
    options.update(results_path=tmp_path / "other.jsonl", lr_cache=tmp_path / "lr.json")
    first = evaluate_population(*schedules, **options)
    assert first.trained == 12 and first.reused == 0
    options["results_path"] = tmp_path / "third.jsonl"
    cached = evaluate_population(*schedules, **options)
    assert cached.lr_search is not None and cached.lr_search.cached == 3
    assert cached.trained == 9 and cached.reused == 0


def test_epochs_to_exceed_and_p_values_follow_table_2() -> None:
    curve = [(2.0, 0.80), (4.0, 0.90), (6.0, 0.95)]
    schedule = MethodRow("EPBT", 6, [0.95, 0.96, 0.94], 0, curve)
    ce = MethodRow("cross_entropy", 6, [0.88, 0.86, 0.87], 0)
    strong = MethodRow("PBT", 6, [0.97, 0.98, 0.96], 0)
    compare_to_schedule(schedule, [ce, strong])
    assert ce.epochs_to_exceed == 4.0  # 0.90 is the first mean above 0.87
    assert strong.epochs_to_exceed is None
    assert ce.p_schedule_better < 0.01 and strong.p_schedule_better > 0.9


def test_population_member_refuses_a_param_out_of_its_range() -> None:
    spec = _spec(EPBT, "e")
    names = [f"taylor_theta_{i}" for i in range(8)]
    dist = FloatDistribution(-10.0, 10.0)
    good = optuna.trial.create_trial(
        params=dict.fromkeys(names, 1.0), distributions=dict.fromkeys(names, dist), value=0.5
    )
    loss, own = population_member(spec, TASK, good)
    assert isinstance(loss, TaylorGLOLoss) and own is None
    assert loss.theta.tolist() == [1.0] * 8 and loss.form == spec.method_settings.form
    bad = optuna.trial.create_trial(
        params=dict.fromkeys(names, 1.0), distributions=dict.fromkeys(names, dist), value=0.5
    )
    bad.params["taylor_theta_3"] = math.inf  # as an altered storage could hold
    with pytest.raises(ValueError, match="'taylor_theta_3' is 'inf', outside its range"):
        population_member(spec, TASK, bad)


def test_pbt_over_sgd_rebuilds_each_members_own_rate() -> None:
    spec = _spec(PBT.replace('segment_steps = 6', 'segment_steps = 6\nspace = "sgd"'), "s")
    trial = optuna.trial.create_trial(
        params={"sgd_lr": 0.05, "sgd_momentum": 0.8},
        distributions={"sgd_lr": FloatDistribution(1e-4, 1.0, log=True),
                       "sgd_momentum": FloatDistribution(0.0, 0.99)},
        value=0.5,
    )
    loss, own = population_member(spec, TASK, trial)
    assert isinstance(loss, CrossEntropy) and own is not None
    assert own.recipe.lr == 0.05 and own.recipe.momentum == 0.8


def test_population_evaluate_refuses_loss_flags_and_empty_studies(
    tmp_path: Path, sqlite_url: str, capsys
) -> None:
    create_study(_spec(EPBT, "e"), sqlite_url)
    base = ["evaluate", "--study", "e", "--storage", sqlite_url, "--no-progress", "--device",
            "cpu", "--out", str(tmp_path / "o")]
    for extra, message in ((["--losses", "baikal"], "`--losses` does not apply"),
                           (["--steps", "10"], "`--steps` does not apply"),
                           (["--population-batch", "3"], "`--population-batch` does not apply"),
                           ([], "has no completed trial, so it has no schedule")):
        assert main([*base, *extra]) != 0
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    create_study(tiny_spec("t"), sqlite_url)
    assert main([*base[:2], "t", *base[3:], "--against", "e"]) != 0
    assert "`--against` compares EPBT and PBT schedules" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_an_epbt_study_against_pbt_end_to_end(tmp_path: Path, capsys) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    for text, name in ((EPBT, "e"), (PBT, "p")):
        spec = tmp_path / f"{name}.toml"
        spec.write_text(text.format(name=name))
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["run", str(spec), "--storage", storage, "--no-progress", "--device",
                         "cpu"]) == 0
    capsys.readouterr()
    out = tmp_path / "eval"
    args = ["evaluate", "--study", "e", "--against", "p", "--storage", storage, "--repeats", "2",
            "--tune-repeats", "1", "--lr-factors", "0.3,1,3", "--no-progress", "--device",
            "cpu", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| Method | Epochs | Mean test accuracy (std) | p (schedule better) | Epochs to " \
        "exceed |" in printed
    stored = json.loads((out / "schedule-evaluation.json").read_text())
    assert stored["schedule"]["method"].startswith("EPBT schedule (trial ")
    methods = [b["method"] for b in stored["baselines"]]
    assert methods[0] == "cross_entropy (lr 1)" and methods[-1].startswith("PBT schedule of p")
    assert all(len(b["test_accuracy"]) == 2 for b in [stored["schedule"], *stored["baselines"]])
    lines = (out / "schedule-evaluation.jsonl").read_text().splitlines()
    purposes = [json.loads(line)["purpose"] for line in lines]
    assert purposes.count("schedule") == 4  # 2 schedules x 2 seeds
    ce = stored["baselines"][0]
    assert ce["epochs"] == pytest.approx(stored["schedule"]["epochs"])
    assert (out / "schedule-evaluation.md").read_text() == stored["markdown"]
    attr = optuna.load_study(study_name="e", storage=storage).user_attrs[
        "optuna_glo:schedule_evaluation"]
    assert attr["schedule"]["mean"] == stored["schedule"]["mean"]
    assert [b["method"] for b in attr["baselines"]] == methods
    assert "curve" not in attr["schedule"] and "test_accuracy" not in attr["schedule"]
    assert set(attr["artifacts"]) == {"schedule-evaluation.json", "schedule-evaluation.md"}
    note = get_note(optuna.load_study(study_name="e", storage=storage))
    assert stored["markdown"] in note  # the study's dashboard note shows the table
    # A rerun trains nothing.
    assert main(args) == 0
    assert "0 training(s) run now" in capsys.readouterr().out


def test_population_markdown_names_every_method() -> None:
    from optuna_glo.reports.evaluation import PopulationReport

    schedule = MethodRow("EPBT schedule (trial 9)", 4, [0.9, 0.92], 0, [(2.0, 0.8), (4.0, 0.91)])
    ce = MethodRow("cross_entropy (lr 1)", 4, [0.85, 0.86], 0, lr=1.0)
    compare_to_schedule(schedule, [ce])
    md = population_markdown(PopulationReport("digits-mlp", 2, [1000, 1001], schedule, [ce]))
    assert "| EPBT schedule (trial 9) | 4 | 0.9100 (0.0141) | | |" in md
    assert "| cross_entropy (lr 1) | 4 | 0.8550 (0.0071) |" in md and "| 4 |" in md
    assert "epoch 2: 0.8000, epoch 4: 0.9100" in md
    search = LRSearch([0.3, 1.0], [2000], 30, {0.3: 0.5, 1.0: 0.6})
    md = population_markdown(PopulationReport("digits-mlp", 2, [1000, 1001], schedule, [ce],
                                              search))
    assert "best 1. It is the task's rate: the cross_entropy row is also the tuned baseline." in md
