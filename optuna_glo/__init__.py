"""optuna-glo: loss-function search as Optuna studies."""
