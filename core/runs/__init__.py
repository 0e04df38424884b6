"""Runs: an experiment from start to report.

:mod:`.loop` drives a run (card -> prompt -> plans -> predicted log -> training) with the options of
:mod:`.options`; :mod:`.store` keeps its trials in an Optuna study; :mod:`.report` and :mod:`.report_charts`
write what it found; :mod:`.experience` carries results across runs; :mod:`.ensemble` combines a run's models;
:mod:`.saved_model` finds the model ``predict`` serves; :mod:`.estimator` wraps the loop as scikit-learn
estimators. The CLI and the ``automl_gpt.run`` facade import this package (plugins: only the ensemble types).
Importing it loads nothing; import the module you need.
"""
