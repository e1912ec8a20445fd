"""The papers' CIFAR-10 and SVHN tasks: data set, network and each network's own recipe.

Recipes are in steps; an epoch is ``n_train // batch_size`` steps, as the training loop drops the
last partial batch (45,000 CIFAR-10 images at batch 128 are 351 steps). Epoch-based schedules
from the papers become step milestones below.

Partial training (the length of one candidate evaluation during loss search). TaylorGLO
appendix A.4 trains each candidate for "10% of a full training run" (2,000 of 20,000 MNIST
steps), and appendix D finds that 10% beats both 1% (three times less sample-efficient) and 100%
(28 times less sample-efficient); A.4 adds that "on more complex models with abrupt learning
rate decay schedules, greater numbers of steps provide better fitness estimates", without saying
how many TaylorGLO used there. So:

- TaylorGLO's networks: 10% of the full run, and more than 10 epochs: appendix A.5 aborts
  candidates whose validation accuracy is too low "at the tenth epoch", which MNIST's 4-epoch
  candidates never reach, so the CIFAR-10 / SVHN candidates trained longer than that (AlexNet's
  10% would be 9 epochs; it gets 20, still before its first decay).
  Every first learning-rate decay here comes after 30% of the run or later, so a candidate trains
  at the initial learning rate throughout; a user who wants the longer evaluations A.4 suggests
  passes ``steps`` (spec ``[training] steps``) or ``with_recipe``.
- EPBT's ResNet-32: one EPBT generation (8 epochs on CIFAR-10, EPBT section 4.1; 1 epoch on
  SVHN, section 4.2), the training between two of EPBT's evaluations.
- GLO's CIFAR-10 network: GLO only transferred losses to it (section IV-F); 2,000 of 20,000
  steps, the MNIST proportion.

Batch-norm networks are marked not vectorizable: their running statistics are buffers updated in
place during training, which the vmapped population trainer does not carry per model.
"""

from __future__ import annotations

from functools import partial

from optuna_glo.objectives._augment import glo_cifar_augmentation, standard_augmentation
from optuna_glo.objectives._cifar import CIFAR10_MEAN, CIFAR10_STD
from optuna_glo.objectives._models_cifar import (
    AlexNetCifar,
    AllCNNC,
    GloCifarCNN,
    PreActResNet,
    ResNetCifar,
    WideResNet,
)
from optuna_glo.objectives._svhn import SVHN_EXTRA_N_VAL, SVHN_MEAN, SVHN_N_VAL, SVHN_STD
from optuna_glo.objectives._tasks import Recipe, Task, register_task

#: Training-set sizes after the validation split.
CIFAR10_N_TRAIN = 50_000 - 5_000
SVHN_N_TRAIN = 73_257 - SVHN_N_VAL
SVHN_EXTRA_N_TRAIN = 73_257 + 531_131 - SVHN_EXTRA_N_VAL

BATCH_NORM_REASON = (
    "batch norm: the population trainer keeps per-model running statistics (tested on small "
    "models against models trained alone), but not yet checked on this network, so its "
    "candidates train one by one"
)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Steps in one epoch: the training loop drops the last partial batch."""
    if n_train < 1 or batch_size < 1:
        raise ValueError(
            f"`n_train` and `batch_size` must be positive. The specified values are "
            f"n_train={n_train}, batch_size={batch_size}."
        )
    return max(1, n_train // batch_size)


def epoch_recipe(
    *,
    n_train: int,
    batch_size: int,
    epochs: int,
    milestone_epochs: tuple[int, ...],
    partial_epochs: int,
    **recipe: float | str | bool,
) -> Recipe:
    """A :class:`Recipe` from a paper's epoch-based schedule."""
    spe = steps_per_epoch(n_train, batch_size)
    return Recipe(
        batch_size=batch_size,
        full_steps=epochs * spe,
        partial_steps=partial_epochs * spe,
        lr_milestones=tuple(e * spe for e in milestone_epochs),
        **recipe,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------------------------
# GLO section IV-A2: the AlexNet-inspired CNN of the TensorFlow CIFAR-10 tutorial.
# --------------------------------------------------------------------------------------------

# "SGD, L2 regularization with a weight decay of 0.004, a batch size of 1024, and an initial
# learning rate of 0.05 that decays by a factor of 0.1 every 350 epochs" (GLO section IV-A2):
# 350 epochs of 45,000 images at batch 1024 are 350 * 43 = 15,050 steps. GLO does not state the
# run length of its transfer experiment (Fig. 5 varies it); 20,000 steps (about 455 epochs) is
# this project's choice, past the first decay. GLO's text applies the weight decay without
# restriction (the TensorFlow tutorial applies it to the two hidden fully-connected layers only).
_GLO_SPE = steps_per_epoch(CIFAR10_N_TRAIN, 1024)
GLO_CIFAR_RECIPE = Recipe(
    lr=0.05, batch_size=1024, partial_steps=2_000, full_steps=20_000, weight_decay=0.004,
    lr_milestones=tuple(k * 350 * _GLO_SPE for k in range(1, 5)), lr_gamma=0.1,
)

register_task(Task(
    name="cifar10-glo-cnn",
    dataset="cifar10",
    model=GloCifarCNN,
    recipe=GLO_CIFAR_RECIPE,
    description="GLO's CIFAR-10 CNN with LRN (IV-A2), 24x24 crops, SGD lr 0.05, batch 1024",
    augment=glo_cifar_augmentation(),
    tags=("glo",),
))

# --------------------------------------------------------------------------------------------
# TaylorGLO Table 1 on CIFAR-10 (appendix A.2: 45k/5k/10k, mean/std normalization, random flips
# and crops with two-pixel padding; "models were trained with their respective hyperparameters
# from the literature").
# --------------------------------------------------------------------------------------------

_CIFAR_AUG = standard_augmentation(padding=2)
# DeVries & Taylor (2017) section 4: 16x16 patches on CIFAR-10, 20x20 on SVHN, filled with the
# mean colour (zero after normalization).
_CIFAR_CUTOUT_AUG = standard_augmentation(padding=2, cutout_size=16, fill=CIFAR10_MEAN)
_SVHN_CUTOUT_AUG = standard_augmentation(padding=2, cutout_size=20, fill=SVHN_MEAN)

# AlexNet: Krizhevsky et al. (2012) section 5: SGD, batch 128, momentum 0.9, weight decay 0.0005,
# learning rate 0.01 divided by 10 "when the validation error rate stopped improving", three
# times in about 90 epochs. The plateau rule is replaced by fixed decays at epochs 30, 60 and 80
# of 90 (this project's choice), so that every run follows the same schedule. Partial runs: 20
# epochs (see the module docstring: 10% would end before TaylorGLO A.5's tenth-epoch check).
ALEXNET_RECIPE = epoch_recipe(
    n_train=CIFAR10_N_TRAIN, batch_size=128, epochs=90, milestone_epochs=(30, 60, 80),
    partial_epochs=20, lr=0.01, optimizer="momentum", momentum=0.9, weight_decay=5e-4,
)
register_task(Task(
    name="cifar10-alexnet",
    dataset="cifar10",
    model=partial(AlexNetCifar, mean=CIFAR10_MEAN, std=CIFAR10_STD),
    recipe=ALEXNET_RECIPE,
    description="TaylorGLO Table 1: AlexNet (2.47M), SGD momentum lr 0.01, batch 128, 90 epochs",
    augment=_CIFAR_AUG,
    tags=("taylorglo",),
))

# All-CNN-C: Springenberg et al. (2015), experimental setup: SGD with momentum 0.9, weight decay
# 0.001, learning rate chosen from {0.25, 0.1, 0.05, 0.01} and multiplied by 0.1 after epochs
# 200, 250 and 300 of 350. 0.01 is taken (the paper does not say which rate won for which model;
# without batch norm 0.01 is the safe end of its set). The batch size is not stated; 128 as for
# the other networks here.
ALLCNNC_RECIPE = epoch_recipe(
    n_train=CIFAR10_N_TRAIN, batch_size=128, epochs=350, milestone_epochs=(200, 250, 300),
    partial_epochs=35, lr=0.01, optimizer="momentum", momentum=0.9, weight_decay=0.001,
)
for _suffix, _aug, _desc in (("", _CIFAR_AUG, ""), ("-cutout", _CIFAR_CUTOUT_AUG, " + Cutout 16")):
    register_task(Task(
        name=f"cifar10-allcnnc{_suffix}",
        dataset="cifar10",
        model=partial(AllCNNC, mean=CIFAR10_MEAN, std=CIFAR10_STD),
        recipe=ALLCNNC_RECIPE,
        description=f"TaylorGLO Table 1: All-CNN-C{_desc}, SGD momentum lr 0.01, 350 epochs",
        augment=_aug,
        tags=("taylorglo",),
    ))

# PreResNet-20: He et al. (2016a), CIFAR setup as in He et al. (2016b) section 4.2:
# batch 128, momentum 0.9, weight decay 0.0001, learning rate 0.1 divided by 10 at 32k and 48k
# iterations, training ends at 64k iterations (the schedule is already in steps).
PRERESNET_RECIPE = Recipe(
    lr=0.1, batch_size=128, partial_steps=6_400, full_steps=64_000, optimizer="momentum",
    momentum=0.9, weight_decay=1e-4, lr_milestones=(32_000, 48_000), lr_gamma=0.1,
)
register_task(Task(
    name="cifar10-preresnet20",
    dataset="cifar10",
    model=partial(PreActResNet, 20, mean=CIFAR10_MEAN, std=CIFAR10_STD),
    recipe=PRERESNET_RECIPE,
    description="TaylorGLO Table 1: PreResNet-20, SGD momentum lr 0.1, 64k steps",
    augment=_CIFAR_AUG,
    vectorizable=False,
    not_vectorizable_reason=BATCH_NORM_REASON,
    tags=("taylorglo",),
))

# Wide ResNets on CIFAR-10: Zagoruyko & Komodakis (2016) section 3: SGD with Nesterov momentum
# 0.9, weight decay 0.0005, batch 128, learning rate 0.1 multiplied by 0.2 at epochs 60, 120 and
# 160, 200 epochs; no dropout in their CIFAR-10 WRN-16-8 / WRN-28-10 results (nor in DeVries &
# Taylor's (2017) Cutout runs, which use this recipe).
WRN_CIFAR_RECIPE = epoch_recipe(
    n_train=CIFAR10_N_TRAIN, batch_size=128, epochs=200, milestone_epochs=(60, 120, 160),
    partial_epochs=20, lr=0.1, lr_gamma=0.2, optimizer="momentum", momentum=0.9, nesterov=True,
    weight_decay=5e-4,
)
# Wide ResNets on SVHN: Zagoruyko & Komodakis (2016) section 3 (and DeVries & Taylor 2017,
# section 4.3): learning rate 0.01 divided by 10 at epochs 80 and 120 of 160, dropout 0.4.
# Trained on 47,225 digits without the extra set (TaylorGLO A.3): 368 steps per epoch.
WRN_SVHN_RECIPE = epoch_recipe(
    n_train=SVHN_N_TRAIN, batch_size=128, epochs=160, milestone_epochs=(80, 120),
    partial_epochs=16, lr=0.01, lr_gamma=0.1, optimizer="momentum", momentum=0.9, nesterov=True,
    weight_decay=5e-4,
)
for _depth, _width in ((16, 8), (28, 5)):
    for _suffix, _caug, _saug, _desc in (
        ("", _CIFAR_AUG, _CIFAR_AUG, ""),
        ("-cutout", _CIFAR_CUTOUT_AUG, _SVHN_CUTOUT_AUG, " + Cutout"),
    ):
        register_task(Task(
            name=f"cifar10-wrn{_depth}-{_width}{_suffix}",
            dataset="cifar10",
            model=partial(WideResNet, _depth, _width, mean=CIFAR10_MEAN, std=CIFAR10_STD),
            recipe=WRN_CIFAR_RECIPE,
            description=(
                f"TaylorGLO Table 1: WRN-{_depth}-{_width}{_desc}, SGD Nesterov lr 0.1, 200 epochs"
            ),
            augment=_caug,
            vectorizable=False,
            not_vectorizable_reason=BATCH_NORM_REASON,
            tags=("taylorglo", "epbt") if (_depth, _suffix) == (16, "") else ("taylorglo",),
        ))
        register_task(Task(
            name=f"svhn-wrn{_depth}-{_width}{_suffix}",
            dataset="svhn",
            model=partial(WideResNet, _depth, _width, dropout=0.4, mean=SVHN_MEAN, std=SVHN_STD),
            recipe=WRN_SVHN_RECIPE,
            description=(
                f"TaylorGLO Table 1: SVHN WRN-{_depth}-{_width}{_desc}, dropout 0.4, lr 0.01, "
                f"160 epochs"
            ),
            augment=_saug,
            vectorizable=False,
            not_vectorizable_reason=BATCH_NORM_REASON,
            tags=("taylorglo",),
        ))

# --------------------------------------------------------------------------------------------
# EPBT section 4: ResNet-32.
# --------------------------------------------------------------------------------------------

# EPBT section 4.1: SGD, batch 128, momentum 0.9, learning rate 0.1 decayed 10x at epochs 100
# and 150 of 200, He initialisation, random flips and translations. EPBT gives no weight decay
# or translation range; He et al. (2016b) section 4.2, whose network it is, use 0.0001 and
# 4-pixel padding. A candidate's partial run is one EPBT generation: 8 epochs.
RESNET32_CIFAR_RECIPE = epoch_recipe(
    n_train=CIFAR10_N_TRAIN, batch_size=128, epochs=200, milestone_epochs=(100, 150),
    partial_epochs=8, lr=0.1, optimizer="momentum", momentum=0.9, weight_decay=1e-4,
)
register_task(Task(
    name="cifar10-resnet32",
    dataset="cifar10",
    model=partial(ResNetCifar, 32, mean=CIFAR10_MEAN, std=CIFAR10_STD),
    recipe=RESNET32_CIFAR_RECIPE,
    description="EPBT: ResNet-32, SGD momentum lr 0.1, batch 128, 200 epochs",
    augment=standard_augmentation(padding=4),
    vectorizable=False,
    not_vectorizable_reason=BATCH_NORM_REASON,
    tags=("epbt",),
))

# EPBT section 4.2: SVHN training plus extra digits ("around 600,000"), 30,000 held out, no
# augmentation, 40 epochs with the learning rate decaying from 0.1 by 10x at epochs 20 and 30;
# otherwise as on CIFAR-10. A candidate's partial run is one EPBT generation: 1 epoch.
RESNET32_SVHN_RECIPE = epoch_recipe(
    n_train=SVHN_EXTRA_N_TRAIN, batch_size=128, epochs=40, milestone_epochs=(20, 30),
    partial_epochs=1, lr=0.1, optimizer="momentum", momentum=0.9, weight_decay=1e-4,
)
register_task(Task(
    name="svhn-resnet32",
    dataset="svhn-extra",
    model=partial(ResNetCifar, 32, mean=SVHN_MEAN, std=SVHN_STD),
    recipe=RESNET32_SVHN_RECIPE,
    description="EPBT: ResNet-32 on SVHN train+extra, no augmentation, lr 0.1, 40 epochs",
    vectorizable=False,
    not_vectorizable_reason=BATCH_NORM_REASON,
    tags=("epbt",),
))
