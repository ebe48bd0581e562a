"""Validate a Pipeline object the way the CRD schema does, returning every problem with its path.

A real API server enforces the generated schema, but objects can still arrive invalid (an older
CRD installed, a server without CEL, a dry-run tool). The controller reports these problems as
the ``Stalled`` condition, so each one is a sentence that names its field:
``spec.environments[1].targets: must not be empty``.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sized
from dataclasses import dataclass
from typing import Any

import croniter
import pydantic

from ferryman.api import check_rules, pipeline, verification


@dataclass(frozen=True, order=True)
class FieldError:
    """One problem: the field path in Kubernetes notation and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: Mapping[str, Any]) -> str:
    """Translate one pydantic error into the sentence Ferryman shows."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "missing":
        return "required value"
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"must have at least {ctx.get('min_length')} items"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"may not be longer than {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return _pattern_message(str(ctx.get("pattern", "")), value)
    if kind in {"enum", "literal_error"}:
        expected = str(ctx.get("expected", "")).replace("'", '"').replace(" or ", ", ")
        return f'unsupported value "{value}": supported values: {expected}'
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    return f"invalid value: {error.get('msg', kind)}"


def _pattern_message(pattern: str, value: Any) -> str:
    if pattern == verification.THRESHOLD_PATTERN:
        return f'"{value}" is not a threshold such as "< 0.01" or ">= 0.99"'
    if pattern == verification.CHECK_NAME_PATTERN:
        return f'"{value}" is not a name of lower-case letters, digits and "-"'
    return f'"{value}" is not a duration such as "90s", "15m" or "1h30m"'


def _schedule_errors(prefix: str, promotion: pipeline.Promotion) -> list[FieldError]:
    errors: list[FieldError] = []
    for index, window in enumerate(promotion.windows or ()):
        where = f"{prefix}.windows[{index}]"
        if not croniter.croniter.is_valid(window.schedule) or len(window.schedule.split()) != 5:
            errors.append(
                FieldError(
                    f"{where}.schedule",
                    f'"{window.schedule}" is not a cron expression with 5 fields',
                )
            )
        if window.time_zone is not None:
            try:
                zoneinfo.ZoneInfo(window.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                errors.append(
                    FieldError(f"{where}.timeZone", f'unknown time zone "{window.time_zone}"')
                )
    return errors


def _promotion_errors(prefix: str, promotion: pipeline.Promotion | None) -> list[FieldError]:
    if promotion is None:
        return []
    errors = _schedule_errors(prefix, promotion)
    if promotion.strategy is not None and len(promotion.strategy.chosen()) > 1:
        errors.append(FieldError(f"{prefix}.strategy", pipeline.ONE_STRATEGY_MESSAGE))
    return errors


def _app_errors(app: pipeline.AppRef) -> list[FieldError]:
    group = app.api_version.rpartition("/")[0]
    path = (app.revision_path or "").lstrip(".")
    if path and (group, app.kind) in pipeline.STATUS_ONLY_KINDS and not path.startswith("status."):
        return [
            FieldError(
                "spec.appRef.revisionPath",
                f'"{app.revision_path}" is not under .status, where {app.kind} keeps its revision',
            )
        ]
    return []


def semantic_errors(spec: pipeline.PipelineSpec) -> list[FieldError]:
    """Rules the models' types cannot express (unique names, one strategy, cron, time zones)."""
    errors = _app_errors(spec.app_ref) + _promotion_errors("spec.promotion", spec.promotion)
    seen: set[str] = set()
    for index, env in enumerate(spec.environments):
        if env.name in seen:
            errors.append(
                FieldError(
                    f"spec.environments[{index}].name",
                    f'duplicate environment name "{env.name}"',
                )
            )
        seen.add(env.name)
        errors.extend(_promotion_errors(f"spec.environments[{index}].promotion", env.promotion))
    return errors + _verification_errors(spec)


def _pull_request(spec: pipeline.PipelineSpec, env: pipeline.Environment) -> bool:
    """Whether promotions into ``env`` open pull requests (as ``domain.policy`` resolves it)."""
    own = env.promotion.strategy if env.promotion is not None else None
    strategy = own or (spec.promotion.strategy if spec.promotion is not None else None)
    return strategy is not None and strategy.pull_request is not None


def _verification_errors(spec: pipeline.PipelineSpec) -> list[FieldError]:
    """``verification`` blocks: their own shape, and commit checks where they cannot work."""
    found = check_rules.shape("spec.verification", spec.verification)
    for index, env in enumerate(spec.environments):
        where, block, inherited = f"spec.environments[{index}].verification", env.verification, ""
        if block is None:
            where, block, inherited = "spec.verification", spec.verification, env.name
        else:
            found += check_rules.shape(where, block)
        found += check_rules.commits(
            where,
            block,
            first=index == 0,
            pull_request=_pull_request(spec, env),
            environment=inherited,
        )
    return [FieldError(path, message) for path, message in found]


def _echo(error: Mapping[str, Any]) -> bool:
    """True for pydantic's "too short" about a list that is only short after its items failed.

    A tuple with ``min_length`` whose items fail validation is also reported as too short
    ("at least 1 item after validation, not 0"); the items' own errors already say what is wrong.
    """
    if error["type"] != "too_short":
        return False
    value = error.get("input")
    minimum = (error.get("ctx") or {}).get("min_length", 0)
    return isinstance(value, Sized) and len(value) >= minimum


def validate(obj: Mapping[str, Any]) -> tuple[pipeline.Pipeline | None, list[FieldError]]:
    """Parse ``obj``: the Pipeline (``None`` if it cannot be parsed) and every problem, sorted."""
    try:
        parsed = pipeline.Pipeline.model_validate(obj)
    except pydantic.ValidationError as exc:
        problems = sorted(
            {
                FieldError(_path(tuple(error["loc"])), _message(error))
                for error in exc.errors(include_url=False)
                if not _echo(error)
            }
        )
        return None, problems
    return parsed, sorted(semantic_errors(parsed.spec))
