"""``python -m optuna_glo`` runs the command line."""

import sys

from optuna_glo.cli import main

sys.exit(main())
