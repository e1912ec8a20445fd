"""What a study found, shown: full-length evaluation with statistics, plots, export, dashboard.

* :mod:`optuna_glo.reports.evaluation`: losses trained to full length, TaylorGLO Table 1's form;
* :mod:`optuna_glo.reports.plots`: the papers' figures (matplotlib);
  :mod:`optuna_glo.reports.population_plots` those of EPBT and PBT, from the numbers in
  :mod:`optuna_glo.reports.lineage`;
* :mod:`optuna_glo.reports.export`: a found loss as a torch-only module;
  :mod:`optuna_glo.reports.export_schedule` an EPBT loss schedule (the loss follows the epoch);
* :mod:`optuna_glo.reports.schedule`: an EPBT or PBT individual's lineage, segment by segment;
* :mod:`optuna_glo.reports.dashboard`: trial and study notes, loss pictures for optuna-dashboard;
* :mod:`optuna_glo.reports.shapes`: the binary view of a loss (GLO Fig. 6) as numbers or a PNG;
* :mod:`optuna_glo.reports.artifacts`: large results as study artifacts, small summaries as attrs;
* :mod:`optuna_glo.reports.generations`: a trial's generation, as its sampler recorded it.

Submodules are imported where used, so ``import optuna_glo.reports`` costs nothing.
"""
