"""Default ``build_prompt``: the paper's fixed-format paragraph.

"Assume we have <data card>; we adopt <model card>; <constraints>; <experience>; <feedback>. Please give the
data processing, model architecture, hyper-parameters and the training log you predict." The same template
serves every task. The output is deterministic: the same context always gives the same text (numbers are
printed with 4 significant digits, parameters in declaration order), so prompts can be cached and
golden-tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from automl_gpt.hookspecs import hookimpl
from automl_gpt.planners.base import Experience, PastTrial, PlanningContext
from automl_gpt.training import Objective, TrialState

if TYPE_CHECKING:
    from automl_gpt.cards import DataCard, ModelCard
    from automl_gpt.cards.model_choice import ModelChoice
    from automl_gpt.cards.search_space import SearchSpace

MAX_FEEDBACK_TRIALS = 8
MAX_EXPERIENCE = 3


@hookimpl(trylast=True)
def build_prompt(context: PlanningContext, n_candidates: int) -> str:
    return situation_paragraph(context) + "\n" + request_sentence(context, n_candidates)


@hookimpl(trylast=True)
def build_log_prompt(context: PlanningContext, configs: list[dict[str, Any]]) -> str:
    return situation_paragraph(context) + "\n" + log_request_sentence(context, configs)


def situation_paragraph(context: PlanningContext) -> str:
    """The paragraph before its closing request: data card, model card, constraints, experience, feedback."""
    sections = [
        data_card_sentence(context.data_card),
        model_card_sentence(context.model_card, context),
        constraints_sentence(context),
        experience_sentence(context.experience),
        feedback_sentence(context.history, context.objective),
    ]
    return "\n".join(section for section in sections if section)


def data_card_sentence(card: DataCard) -> str:
    """'Assume we have ...': the data card as one sentence-paragraph."""
    parts = [f'Assume we have the dataset "{card.name}" for {_task_phrase(card)}']
    shape = []
    if card.n_rows is not None:
        shape.append(f"{card.n_rows} rows")
    if card.n_features is not None:
        shape.append(f"{card.n_features} features")
    if card.columns:
        kinds: dict[str, int] = {}
        for name, info in card.columns.items():
            if name != card.target:
                kinds[info.type] = kinds.get(info.type, 0) + 1
        if kinds:
            kinds_text = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
            shape.append(f"feature columns: {kinds_text}")
        missing = {name: info.missing for name, info in card.columns.items() if info.missing}
        if missing:
            shape.append("missing values in " + ", ".join(f"{n} ({m})" for n, m in missing.items()))
    if shape:
        parts.append("with " + "; ".join(shape))
    if card.target:
        parts.append(f'the target column is "{card.target}"')
    if card.label_space:
        parts.append("the label space is " + ", ".join(str(label) for label in card.label_space))
    if card.class_balance:
        parts.append("class balance " + ", ".join(f"{k} {_num(v)}" for k, v in card.class_balance.items()))
    if card.metric:
        parts.append(f"the evaluation metric is {card.metric}")
    sentence = "; ".join(parts) + "."
    if card.description:
        sentence += f" Description: {card.description.strip()}"
    return sentence


def model_card_sentence(card: ModelCard, context: PlanningContext) -> str:
    """'We adopt ...': the model card, with its typed search space by stage (every candidate card, each in this
    format, when the run chooses among several)."""
    from automl_gpt.cards.model_choice import MODEL_PARAM, ModelChoice

    if isinstance(card, ModelChoice):
        names = ", ".join(f'"{m.name}"' for m in card.members)
        lines = [f"We adopt one of {len(card.members)} candidate models ({names}): each plan names the one it "
                 f'adopts as "{MODEL_PARAM}" and sets that model\'s parameters, under the names below.']
        lines.extend(_adopt_sentence(member, _member_space(card, member), lead="Candidate model")
                     for member in card.members)
        return "\n".join(lines)
    return _adopt_sentence(card, context.space)


def _member_space(choice: ModelChoice, member: ModelCard) -> SearchSpace:
    """One candidate's own parameters (descriptions and conditions) under the names the choice gives them."""
    from automl_gpt.cards.search_space import SearchSpace

    return SearchSpace({
        choice.union_name(member.name, name): param.model_copy(update={"condition": {
            choice.union_name(member.name, other): values for other, values in param.condition.items()}})
        for name, param in member.search_space.items()})


def _adopt_sentence(card: ModelCard, space: SearchSpace, lead: str = "We adopt the model") -> str:
    text = f'{lead} "{card.name}"'
    if card.architecture:
        text += f" ({card.architecture})"
    text += f", trained by the {card.backend} backend."
    if card.description:
        text += f" {card.description.strip()}"
    lines = [text, "Its search space, by stage:"]
    lines.extend(f"- {line}" for line in space.describe().splitlines())
    return "\n".join(lines)


def constraints_sentence(context: PlanningContext) -> str:
    """The user's constraints and the objective."""
    objective = context.objective
    parts = [f"We {objective.direction} the validation {objective.metric}"]
    for key, value in sorted(context.constraints.items()):
        parts.append(f"{key.replace('_', ' ')} {_value(value)}")
    return "Constraints: " + "; ".join(parts) + "."


def experience_sentence(experience: Iterable[Experience]) -> str:
    """Similar datasets seen before and the configurations that worked on them."""
    items = list(experience)[:MAX_EXPERIENCE]
    if not items:
        return ""
    lines = ["Experience from similar datasets:"]
    for item in items:
        best = item.configs[0] if item.configs else {}
        score = f", score {_num(item.scores[0])}" if item.scores else ""
        lines.append(f'- "{item.dataset}" (similarity {_num(item.similarity)}{score}): {_config(best)}')
    return "\n".join(lines)


def feedback_sentence(history: Iterable[PastTrial], objective: Objective) -> str:
    """A digest of the trials so far: configuration, predicted vs real objective, where the real log ended."""
    trials = list(history)
    if not trials:
        return ""
    ranked = sorted(trials, key=lambda t: _sort_key(t, objective))[:MAX_FEEDBACK_TRIALS]
    lines = [f"Feedback from {len(trials)} real training runs so far (best first):"]
    for trial in ranked:
        result = trial.result
        if result.state == TrialState.FAIL:
            lines.append(f"- trial {trial.number}: {_config(trial.config)} -> FAILED: {result.error}")
            continue
        real = result.value(objective)
        predicted = [p.final for p in trial.predictions if p.final is not None]
        text = f"- trial {trial.number}: {_config(trial.config)} -> real validation {objective.metric} {_num(real)}"
        if predicted:
            text += f" (predicted {_num(predicted[0])})"
        steps = result.log.curve("valid", objective.metric)
        if steps:
            text += f" after {steps[-1][0]} steps"
        if result.state == TrialState.PRUNED:
            text += ", stopped early"
        lines.append(text)
    return "\n".join(lines)


def request_sentence(context: PlanningContext, n_candidates: int) -> str:
    """The fixed closing request of the paragraph."""
    plural = "plans" if n_candidates != 1 else "plan"
    return (
        f"Please give {n_candidates} new {plural}, each with the data processing, the model architecture, the "
        f"hyper-parameters and the training log you predict (validation {context.objective.metric} at a few "
        "training steps), as JSON."
    )


def log_request_sentence(context: PlanningContext, configs: Sequence[Mapping[str, Any]]) -> str:
    """The closing request of ``build_log_prompt``: the configurations, and their predicted training logs."""
    from automl_gpt.planners.surrogate import CURVE_POINTS

    lines = [f"We will train {len(configs)} configurations:"]
    lines.extend(f"- configuration {number}: {_config(config)}" for number, config in enumerate(configs, 1))
    points = ", ".join(f"{p}%" for p in CURVE_POINTS[:-1]) + f" and {CURVE_POINTS[-1]}%"
    lines.append(f"Please give the training log you predict for each configuration, in this order (validation "
                 f"{context.objective.metric} at {points} of training), as JSON.")
    return "\n".join(lines)


def _task_phrase(card: DataCard) -> str:
    return {
        "binary": "binary classification",
        "multiclass": "multi-class classification",
        "regression": "regression",
        "extractive_qa": "extractive question answering",
        "object_detection": "object detection",
    }[card.task]


def _sort_key(trial: PastTrial, objective: Objective) -> tuple[int, float, int]:
    value = trial.result.value(objective)
    if value is None:
        return (1, 0.0, trial.number)
    return (0, value if objective.direction == "minimize" else -value, trial.number)


def _config(config: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in config.items()) + "}"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return _num(value)
    return str(value)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
