#!/usr/bin/env bash
# One-shot GPU benchmark (issue 13, item 4): about 8 minutes on one H100/H200.
#
#   bash benchmarks/gpu_check.sh OUTDIR               # on a GPU machine, from the repository root
#   bash benchmarks/gpu_check.sh OUTDIR --cpu-smoke   # everything tiny on the CPU (< 3 minutes)
#
# Writes OUTDIR/*.json (one per step), OUTDIR/summary.json and OUTDIR/summary.md:
#   1. population.py, mnist-basic-cnn, k = 28, 2,000 steps: vectorized vs one by one,
#      eager / bf16 autocast (--amp) / torch.compile (--compile);
#   2. one TaylorGLO generation (k = 28) end to end through the batch-mode worker, on SQLite and
#      on a journal file (training plus storage);
#   3. the step time of every CIFAR-10 / SVHN task at its recipe's batch size;
#   4. one EPBT generation of the ResNet-32 population, when optuna_glo has the method "epbt"
#      (else recorded as "not available").
# Steps without the data set on the machine time random tensors of the task's shapes; each
# step's JSON says "data": "real" or "random". A step that fails or runs past its time limit is
# recorded as such and the script goes on.
#
# The GPU machine brings Python and torch (e.g. Python 3.12, torch 2.11) but no Optuna. Carry
# wheels for Python 3.12 into a directory and set WHEELS=DIR; the script then installs them with
# `pip install --no-index --find-links "$WHEELS"` (never touching torch):
#   pip download --only-binary=:all: --python-version 3.12 -d wheels \
#       optuna cmaes sqlalchemy alembic mako markupsafe colorlog pyyaml tqdm packaging \
#       greenlet typing_extensions numpy scipy
# optuna_glo itself runs from this checkout (PYTHONPATH), so it needs no wheel; torch and
# torchvision are the machine's own (pyproject.toml takes a range).
set -u -o pipefail

usage() { echo "usage: bash benchmarks/gpu_check.sh OUTDIR [--cpu-smoke]" >&2; exit 2; }
[ $# -ge 1 ] || usage
OUT=$1
SMOKE=0
if [ $# -ge 2 ]; then
    [ "$2" = "--cpu-smoke" ] || usage
    SMOKE=1
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export PYTHONPATH="$REPO/benchmarks:$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
START=$(date +%s)

if ! "$PY" -c "import optuna, cmaes" 2>/dev/null; then
    if [ -z "${WHEELS:-}" ]; then
        echo "optuna is not installed: set WHEELS=DIR with the carried wheels (see the header)" >&2
        exit 2
    fi
    "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" \
        optuna cmaes sqlalchemy tqdm || exit 2
fi

if [ $SMOKE = 1 ]; then
    DEVICE=cpu; POP_TASK=digits-mlp; K=2; STEPS=2; GEN_TASK=digits-mlp; GEN_STEPS=2
    CIFAR_ARGS=(--device cpu --batch-size 4 --warmup 1 --steps 1 --tasks cifar10-resnet32)
    LIMIT_POP=90; LIMIT_GEN=90; LIMIT_CIFAR=90; LIMIT_EPBT=60
    EPBT_TASK=digits-mlp; EPBT_K=2; EPBT_STEPS=2  # a ResNet-32 stack takes minutes on a CPU
    MODES=(eager)
    export OMP_NUM_THREADS=1
else
    DEVICE=cuda; POP_TASK=mnist-basic-cnn; K=28; STEPS=2000; GEN_TASK=mnist-basic-cnn
    GEN_STEPS=2000; CIFAR_ARGS=(--device cuda)
    LIMIT_POP=75; LIMIT_GEN=45; LIMIT_CIFAR=45; LIMIT_EPBT=45
    # EPBT 4.1's population of 40 ResNet-32s, 100 steps of its first segment (the time per step
    # of the whole population; a full 8-epoch segment is 3,128 steps).
    EPBT_TASK=cifar10-resnet32; EPBT_K=40; EPBT_STEPS=100
    MODES=(eager amp compile)
fi

# step NAME LIMIT_S COMMAND...: run with a time limit; record status and log.
step() {
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s)" >&2
    local t0=$(date +%s) rc=0
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1 || rc=$?
    local status=ok
    [ $rc = 124 ] && status=timed_out
    [ $rc != 0 ] && [ $rc != 124 ] && status=failed
    printf '{"step": "%s", "status": "%s", "rc": %d, "seconds": %d}\n' \
        "$name" "$status" "$rc" "$(( $(date +%s) - t0 ))" >"$OUT/$name.status.json"
    tail -n 1 "$OUT/$name.log" >&2
}

# 1. A generation as model stacks: eager, bf16 autocast, torch.compile.
for mode in "${MODES[@]}"; do
    flags=()
    [ "$mode" = amp ] && flags=(--amp)
    [ "$mode" = compile ] && flags=(--compile)
    step "population-$mode" $LIMIT_POP "$PY" "$REPO/benchmarks/population.py" \
        --task $POP_TASK --k $K --steps $STEPS --device $DEVICE --data auto \
        --json "$OUT/population-$mode.json" "${flags[@]}"
done

# 2. One TaylorGLO generation end to end through the batch-mode worker.
TMP=$(mktemp -d)
step generation-sqlite $LIMIT_GEN "$PY" "$REPO/benchmarks/generation_e2e.py" \
    --storage "sqlite:///$TMP/generation.db" --task $GEN_TASK --k $K --steps $GEN_STEPS \
    --device $DEVICE --data auto --json "$OUT/generation-sqlite.json"
step generation-journal $LIMIT_GEN "$PY" "$REPO/benchmarks/generation_e2e.py" \
    --storage "$TMP/generation.log" --task $GEN_TASK --k $K --steps $GEN_STEPS \
    --device $DEVICE --data auto --json "$OUT/generation-journal.json"
rm -rf "$TMP"

# 3. Step time of every CIFAR-10 / SVHN task at its recipe batch (random tensors by design).
step cifar-step-times $LIMIT_CIFAR "$PY" "$REPO/benchmarks/cifar_step_times.py" "${CIFAR_ARGS[@]}"

# 4. EPBT: one generation of the ResNet-32 population -- only where the method exists.
# >>> EPBT STEP: runs when optuna_glo has method "epbt"; else records "not available". <<<
if "$PY" -c "import sys; from optuna_glo.runtime.methods import METHODS; \
sys.exit(0 if 'epbt' in METHODS else 1)" 2>/dev/null; then
    TMP=$(mktemp -d)
    step epbt-generation $LIMIT_EPBT "$PY" "$REPO/benchmarks/generation_e2e.py" \
        --method epbt --storage "sqlite:///$TMP/epbt.db" --task $EPBT_TASK \
        --k $EPBT_K --steps $EPBT_STEPS --device $DEVICE --data auto \
        --json "$OUT/epbt-generation.json"
    rm -rf "$TMP"
else
    echo '{"step": "epbt-generation", "status": "not available", "rc": 0, "seconds": 0}' \
        >"$OUT/epbt-generation.status.json"
fi

# Summary: JSON and Markdown.
"$PY" - "$OUT" "$SMOKE" "$(( $(date +%s) - START ))" <<'EOF'
import json, platform, sys
from pathlib import Path

out, smoke, seconds = Path(sys.argv[1]), sys.argv[2] == "1", int(sys.argv[3])
import torch

device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
steps = []
for status in sorted(out.glob("*.status.json")):
    row = json.loads(status.read_text())
    report = out / f"{row['step']}.json"
    if report.is_file():
        row["report"] = json.loads(report.read_text())
    log = out / f"{row['step']}.log"
    if log.is_file():
        lines = log.read_text().strip().splitlines()
        row["last_line"] = lines[-1] if lines else ""
    steps.append(row)
summary = {"device": device, "torch": torch.__version__, "python": platform.python_version(),
           "cpu_smoke": smoke, "seconds": seconds, "steps": steps}
(out / "summary.json").write_text(json.dumps(summary, indent=2))
md = [f"# GPU check: {device}", "",
      f"torch {torch.__version__}, Python {platform.python_version()}, "
      f"{'CPU smoke run' if smoke else 'full run'}, {seconds} s", "",
      "| step | status | s | data | result |", "|---|---|---|---|---|"]
for row in steps:
    data = row.get("report", {}).get("data", "")
    md.append(f"| {row['step']} | {row['status']} | {row['seconds']} | {data} | "
              f"{row.get('last_line', '').replace('|', '/')[:160]} |")
(out / "summary.md").write_text("\n".join(md) + "\n")
print("\n".join(md))
EOF
