"""The saved model of a run that ``automl-gpt predict RUN`` serves: its ensemble, or its best (or a chosen) trial."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from automl_gpt.errors import UsageError
from automl_gpt.runs.ensemble import ENSEMBLE_ATTR, ENSEMBLE_FOLDER
from automl_gpt.runs.options import RunSettings
from automl_gpt.runs.store import RESULT_ATTR, inside_run, open_storage


@dataclass
class SavedModelRef:
    """Which saved model of a run predicts: the trial (None for the run's ensemble), its backend and its model
    path."""

    backend: str
    trial: int | None
    model_path: Path

    @property
    def label(self) -> str:
        """``trial<N>``, or ``ensemble``: names the predictions file."""
        return "ensemble" if self.trial is None else f"trial{self.trial}"


def saved_model_of(folder: Path, trial: int | None = None) -> SavedModelRef:
    """The saved model of trial ``trial`` of the run in ``folder``, or the run's best model.

    The best model is the run's ensemble when it beat the best single trial on validation (see
    :mod:`automl_gpt.runs.ensemble`), else the COMPLETE trial with the best objective value in the run's study. Model
    paths recorded relative to where the run was started are found again inside the run folder.
    """
    import optuna

    settings = RunSettings.load(folder)
    storage = open_storage(settings.storage_url(folder), heartbeat_s=None)
    study = optuna.load_study(study_name=settings.study_name, storage=storage)
    ensemble = study.user_attrs.get(ENSEMBLE_ATTR) or {}
    if trial is None and ensemble.get("served"):
        path = inside_run(Path(ensemble["model_path"]), folder, ENSEMBLE_FOLDER)
        if path.exists():
            return SavedModelRef(settings.backend, None, path)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if trial is None:
        if not complete:
            raise UsageError(f"{folder}: no trial of this run completed, so there is no model to predict with")
        sign = 1 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1
        chosen = min(complete, key=lambda t: sign * float(t.value or 0.0))
    else:
        found = [t for t in complete if t.number == trial]
        if not found:
            numbers = ", ".join(str(t.number) for t in complete) or "none"
            raise UsageError(f"--trial {trial}: not a complete trial of {folder} (complete trials: {numbers})")
        chosen = found[0]
    artifacts = (chosen.user_attrs.get(RESULT_ATTR) or chosen.user_attrs).get("artifacts") or {}
    if "model" not in artifacts:
        raise UsageError(f"{folder}: trial {chosen.number} saved no model (its backend wrote: "
                         f"{', '.join(artifacts) or 'nothing'})")
    return SavedModelRef(settings.backend, chosen.number, inside_run(Path(artifacts["model"]), folder))
