"""Running studies: specs, methods (a sampler plus a trial-to-loss bridge), storages, workers.

Everything here is driven by the CLI; nothing here draws or reports (that is ``reports``).
"""
