"""The training run: run config, Lightning Trainer, callbacks, loggers, ``init_from``.

Above :mod:`diarize.models` and :mod:`diarize.data` in the import graph; with
``models/system.py`` and ``data/datamodule.py`` the only place that imports Lightning.
Import :func:`diarize.training.run.run_training` for a run and
:func:`diarize.training.config.load_train_config` for its config (the latter without Lightning).
"""
