"""Bad input through the command line: exit status 2, one line naming the problem, no traceback.

Every row of :data:`CASES` is one input: a command line, and what it needs (a spec file's text, a
study in the storage). The worker and launch flags (``--pool-size 0``, ``--reconnect-timeout
nan``, ...) have their own table in ``tests/workers/test_worker_options.py``; only the batch
bounds added with the spec bounds are here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from _evaluation_studies import study_with_generations
from _specs import EVALUATE, TINY

from optuna_glo.cli import main
from optuna_glo.keys import EVALUATION_ATTR, SPEC_ATTR

SPEC = TINY.format(name="tiny", steps=40)

GLO = """
[study]
name = "g"
method = "glo"
task = "digits-mlp"
generations = 2
"""

def spec(*changes: tuple[str, str], base: str = SPEC, extra: str = "") -> str:
    """``base`` with each ``(old, new)`` replaced once, and ``extra`` appended."""
    for old, new in changes:
        assert old in base, old
        base = base.replace(old, new, 1)
    return base + extra


def _study(tmp_path: Path, url: str) -> None:
    study_with_generations(url, "tiny")  # population 4, six finished trials


def _list_spec(tmp_path: Path, url: str) -> None:
    study = study_with_generations(url, "tiny")
    study.set_user_attr(SPEC_ATTR, "[1, 2]")


def _bad_evaluation(tmp_path: Path, url: str) -> None:
    study = study_with_generations(url, "tiny")
    study.set_user_attr(EVALUATION_ATTR, {"rows": [{"loss": 3, "test_accuracy": "x"}]})


def _not_a_database(tmp_path: Path, url: str) -> None:
    (tmp_path / "study.db").write_text("these are notes, not a database\n")


@dataclass(frozen=True)
class Case:
    """A command line (``{spec}``, ``{storage}``, ``{dir}``, ``{file}`` filled in per test)."""

    id: str
    argv: tuple[str, ...]
    fragment: str
    spec: str | bytes = SPEC
    setup: Callable[[Path, str], None] | None = None


def create(case_id: str, text: str | bytes, fragment: str) -> Case:
    return Case(case_id, ("create-study", "{spec}", "--storage", "{storage}"), fragment, text)


STUDY = ("--study", "tiny", "--storage", "{storage}")
EVALUATE_CMD = ("evaluate", *STUDY, "--device", "cpu")

CASES = [
    # Item 5: every size-like value is bounded at create-study (and run).
    create("order-200", spec(extra="order = 200\n", base=SPEC.replace("[training]\nsteps = 40\n",
           "")), "[taylorglo] order must be >= 1 and <= 20"),
    create("order-0", spec(("population_size = 4", "population_size = 4\norder = 0")),
           "[taylorglo] order must be >= 1"),
    create("population-1e7", spec(("population_size = 4", "population_size = 10000000")),
           "[taylorglo] population_size must be >= 2 and <= 10,000. The specified value is "
           "10000000"),
    Case("run-population-1e7", ("run", "{spec}", "--storage", "{storage}", "--device", "cpu"),
         "[taylorglo] population_size must be", spec(("population_size = 4",
                                                      "population_size = 10000000"))),
    create("population-1", spec(("population_size = 4", "population_size = 1")),
           "population_size must be >= 2"),
    create("n-trials-1e7", spec(("generations = 2", "n_trials = 10000000")),
           "[study] n_trials must be >= 1 and <= 1,000,000"),
    create("budget-1e7", spec(("generations = 2", "generations = 1000"),
                              ("population_size = 4", "population_size = 10000")),
           "the budget must be at most 1,000,000 trials"),
    create("glo-coefficient-trials", spec(base=GLO, extra="[glo]\ncoefficient_generations = "
                                          "100000\ncoefficient_population_size = 100\n"),
           "the budget must be at most 1,000,000 trials"),
    create("population-batch-1e6", spec(("steps = 40", "steps = 40\npopulation_batch = 1000000")),
           "[training] population_batch must be >= 1 and <= 1,024"),
    create("population-batch-over-population",
           spec(("steps = 40", "steps = 40\npopulation_batch = 8")),
           "population_batch must be at most the population size (4)"),
    create("steps-1e11", spec(("steps = 40", "steps = 100000000000")),
           "[training] steps must be >= 1 and <= 10,000,000"),
    create("evaluate-steps-0", spec(("steps = [20, 40]", "steps = [20, 0]"), base=EVALUATE),
           "[evaluate] steps must be >= 1"),
    create("evaluate-seeds-0", spec(("seeds = 3", "seeds = 0"), base=EVALUATE),
           "[evaluate] seeds must be >= 1"),
    create("glo-coefficient-population-2",
           spec(base=GLO, extra="[glo]\ncoefficient_population_size = 2\n"),
           "[glo] coefficient_population_size must be >= 4"),
    Case("worker-population-batch-1e6", ("worker", *STUDY, "--population-batch", "1000000"),
         "(--population-batch) must be a whole number >= 1 and <= 1,024"),
    Case("worker-population-batch-over-population",
         ("worker", *STUDY, "--population-batch", "8", "--device", "cpu"),
         "must be at most study 'tiny''s population size (4)", setup=_study),
    # Item 7: NaN, inf and range gaps, with the name, the range and the value.
    create("sigma0-nan", spec(("population_size = 4", "population_size = 4\nsigma0 = nan")),
           "[taylorglo] sigma0 must be a finite number > 0 and <= 1e+09. The specified value "
           "is nan."),
    create("bound-inf", spec(("population_size = 4", "population_size = 4\nbound = inf")),
           "[taylorglo] bound must be a finite number > 0"),
    create("bound-over-parser", spec(("population_size = 4", "population_size = 4\nbound = 2e9")),
           "bound must be a finite number > 0 and <= 1e+09"),
    create("coefficient-bound-over-parser",
           spec(base=GLO, extra="[glo]\ncoefficient_bound = 1e10\n"),
           "[glo] coefficient_bound must be a finite number > 1 and <= 1e+09"),
    create("coefficient-bound-below-start",
           spec(base=GLO, extra="[glo]\ncoefficient_bound = 0.5\n"),
           "the coefficient phase starts at 1"),
    create("crossover-nan", spec(base=GLO, extra="[glo]\ncrossover_prob = nan\n"),
           "[glo] crossover_prob must be a finite number >= 0 and <= 1"),
    create("lr-nan", spec(("steps = 40", "steps = 40\nlr = nan")),
           "[training] lr must be a finite number > 0"),
    create("lr-negative", spec(("steps = 40", "steps = 40\nlr = -0.1")),
           "[training] lr must be a finite number > 0"),
    create("check-step-negative", spec(extra="abort_retry = { check_step = -1 }\n"),
           "[training.abort_retry] check_step must be >= 1"),
    create("check-step-after-training", spec(extra="abort_retry = { check_step = 40 }\n"),
           "check_step must be less than [training] steps (40)"),
    create("check-step-after-task-steps",
           spec(("steps = 40", "abort_retry = { check_step = 5000 }")),
           "check_step must be less than the steps of task 'digits-mlp' (300)"),
    create("min-accuracy-nan", spec(extra="abort_retry = { check_step = 5, min_accuracy = nan }\n"),
           "[training.abort_retry] min_accuracy must be a finite number >= 0 and <= 1"),
    create("seed-negative", spec(("seed = 0", "seed = -1")), "[study] seed must be >= 0"),
    Case("lr-factors-nan-inf", (*EVALUATE_CMD, "--lr-factors", "nan,inf"),
         "`--lr-factors` must be finite positive numbers. It is 'nan,inf'."),
    Case("eval-every-0", (*EVALUATE_CMD, "--eval-every", "0"), "`--eval-every` must be >= 1"),
    Case("repeats-0", (*EVALUATE_CMD, "--repeats", "0"), "`--repeats` must be >= 1"),
    Case("data-portion-nan", (*EVALUATE_CMD, "--data-portion", "nan"),
         "`--data-portion` must be in (0, 1]"),
    # Item 8: what used to end in a traceback.
    Case("spec-is-a-directory", ("create-study", "{dir}", "--storage", "{storage}"),
         "is a directory: give a TOML file in it"),
    create("spec-not-utf8", b"[study]\nname = '\xff\xfe'\n", "spec.toml' is not UTF-8 text"),
    Case("storage-http", ("create-study", "{spec}", "--storage", "http://example.com/optuna"),
         "names no database SQLAlchemy knows"),
    Case("storage-not-a-database", ("create-study", "{spec}", "--storage", "{storage}"),
         "study.db' as an Optuna storage: file is not a database", setup=_not_a_database),
    create("name-nul", spec(('name = "tiny"', 'name = "ti\\u0000ny"')),
           "[study] name must not contain control characters"),
    create("name-513", spec(('name = "tiny"', f'name = "{"n" * 513}"')),
           "[study] name must have 1 to 512 characters"),
    Case("study-flag-nul", ("best", "--study", "ti\x00ny", "--storage", "{storage}"),
         "must not contain control characters"),
    Case("stored-spec-is-a-list", ("best", *STUDY),
         "stored spec must be a JSON object of tables, got a list", setup=_list_spec),
    Case("device-bogus-worker", ("worker", *STUDY, "--device", "bogus"),
         "`device` must be auto, cpu, cuda or cuda:K. The specified device is 'bogus'."),
    Case("device-bogus-run", ("run", "{spec}", "--storage", "{storage}", "--device", "bogus"),
         "`device` must be auto, cpu, cuda or cuda:K"),
    Case("device-bogus-evaluate", ("evaluate", *STUDY, "--device", "bogus"),
         "`device` must be auto"),
    Case("plot-out-is-a-file", ("plot", *STUDY, "--out", "{file}"),
         "is a file; give a directory", setup=_study),
    Case("plot-malformed-evaluation", ("plot", *STUDY, "--out", "{dir}/pics"),
         f"evaluation {EVALUATION_ATTR!r} is not a report optuna-glo wrote",
         setup=_bad_evaluation),
    Case("export-out-is-a-directory", ("export", *STUDY, "--out", "{dir}"),
         "is a directory; give the module's file name", setup=_study),
    Case("evaluate-out-is-a-file", (*EVALUATE_CMD, "--out", "{file}"),
         "is a file; give a directory"),
]


def run_case(case: Case, tmp_path: Path, storage: str, capsys: pytest.CaptureFixture[str]
             ) -> tuple[int, str]:
    spec_path = tmp_path / "spec.toml"
    if isinstance(case.spec, bytes):
        spec_path.write_bytes(case.spec)
    else:
        spec_path.write_text(case.spec)
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "a-file").write_text("keep me\n")
    if case.setup is not None:
        case.setup(tmp_path, storage)
    capsys.readouterr()
    fill = {"spec": str(spec_path), "storage": storage, "dir": str(tmp_path / "a-directory"),
            "file": str(tmp_path / "a-file")}
    code = main([arg.format(**fill) for arg in case.argv])
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, fragment: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("optuna-glo "), err
    assert fragment in err, err


def test_the_table_has_every_case_once() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    code, err = run_case(case, tmp_path, storage, capsys)
    assert_one_line_error(code, err, case.fragment)
    assert (tmp_path / "a-file").read_text() == "keep me\n"


def test_a_refused_spec_creates_no_study(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    case = create("sigma0-nan", spec(("population_size = 4", "population_size = 4\nsigma0 = nan")),
                  "sigma0")
    assert run_case(case, tmp_path, storage, capsys)[0] == 2
    assert not (tmp_path / "study.db").exists()


#: The names PostgreSQL refused with a traceback: NUL in a query, over VARCHAR(512) on insert.
PG_CASES = [c for c in CASES if c.id in ("name-nul", "name-513", "study-flag-nul")]


@pytest.mark.postgres
@pytest.mark.parametrize("case", PG_CASES, ids=[c.id for c in PG_CASES])
def test_bad_study_names_on_postgresql(
    case: Case, pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_case(case, tmp_path, pg_url, capsys)
    assert_one_line_error(code, err, case.fragment)
    assert optuna.get_all_study_summaries(pg_url) == []
