"""What a study found, shown: full-length evaluation with statistics, plots, export, dashboard.

* :mod:`optuna_glo.reports.evaluation`: losses trained to full length, TaylorGLO Table 1's form;
* :mod:`optuna_glo.reports.plots`: the papers' figures (matplotlib);
* :mod:`optuna_glo.reports.export`: a found loss as a torch-only module;
* :mod:`optuna_glo.reports.dashboard`: study notes and per-trial artifacts for optuna-dashboard;
* :mod:`optuna_glo.reports.shapes`: the binary view of a loss (GLO Fig. 6) as numbers or a PNG.

Submodules are imported where used, so ``import optuna_glo.reports`` costs nothing.
"""
