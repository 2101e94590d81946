"""Prompt templates shipped as YAML package data, rendered strictly.

Each ``<name>.yaml`` holds ``description``, ``variables`` (the names the caller must supply), ``system`` and
``user``. Placeholders are ``{name}``; a literal brace is written ``{{`` or ``}}``. At load time the declared
variables must equal the placeholders found in the text; at render time the supplied variables must equal
the declared ones, so a drifted template or caller fails loudly instead of sending a half-filled prompt.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from index.errors import UserFacingError

__all__ = ["PromptError", "PromptTemplateSpec", "RenderedPrompt", "load_prompt", "parse_prompt"]

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_TEXT_FIELDS = ("system", "user")


class PromptError(UserFacingError, ValueError):
    """A template and its caller disagree; str() names the template and the variables, for the log."""

    message_zh = "回答模板配置有误，请联系管理员"


@dataclass(frozen=True)
class RenderedPrompt:
    system: str
    user: str


@dataclass(frozen=True)
class PromptTemplateSpec:
    name: str
    description: str
    variables: tuple[str, ...]
    system: str
    user: str

    def render(self, **variables: object) -> RenderedPrompt:
        supplied, declared = set(variables), set(self.variables)
        if supplied != declared:
            problems = []
            if missing := sorted(declared - supplied):
                problems.append(f"missing {missing}")
            if extra := sorted(supplied - declared):
                problems.append(f"unexpected {extra}")
            raise PromptError(f"prompt {self.name!r} takes exactly {sorted(declared)}: " + ", ".join(problems))
        values = {key: str(value) for key, value in variables.items()}
        return RenderedPrompt(system=self.system.format_map(values), user=self.user.format_map(values))


def _placeholders(name: str, field: str, text: str) -> set[str]:
    found = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PromptError(f"prompt {name!r}: bad braces in {field}: {exc}") from exc
    for _, field_name, format_spec, conversion in parsed:
        if field_name is None:
            continue
        if not field_name.isidentifier() or format_spec or conversion:
            raise PromptError(f"prompt {name!r}: placeholder {{{field_name}}} in {field} must be a plain {{name}}")
        found.add(field_name)
    return found


def parse_prompt(name: str, text: str) -> PromptTemplateSpec:
    """Build a template from YAML text, checking the declared variables against the placeholders."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PromptError(f"prompt {name!r} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PromptError(f"prompt {name!r} must be a YAML mapping")
    unknown = set(data) - {"description", "variables", *_TEXT_FIELDS}
    if unknown:
        raise PromptError(f"prompt {name!r} has unknown keys {sorted(unknown)}")

    variables = data.get("variables")
    if not isinstance(variables, list) or not all(isinstance(v, str) and v.isidentifier() for v in variables):
        raise PromptError(f"prompt {name!r} must declare `variables` as a list of names")
    if len(set(variables)) != len(variables):
        raise PromptError(f"prompt {name!r} declares a variable twice: {variables}")

    texts = {}
    for field in _TEXT_FIELDS:
        value = data.get(field)
        if not isinstance(value, str) or not value.strip():
            raise PromptError(f"prompt {name!r} needs a non-empty `{field}` text")
        texts[field] = value.strip()

    used = set().union(*(_placeholders(name, field, texts[field]) for field in _TEXT_FIELDS))
    if used != set(variables):
        problems = []
        if undeclared := sorted(used - set(variables)):
            problems.append(f"placeholders not declared: {undeclared}")
        if unused := sorted(set(variables) - used):
            problems.append(f"declared but never used: {unused}")
        raise PromptError(f"prompt {name!r}: `variables` does not match the text ({'; '.join(problems)})")

    return PromptTemplateSpec(name=name, description=str(data.get("description") or "").strip(),
                              variables=tuple(variables), system=texts["system"], user=texts["user"])


@lru_cache(maxsize=None)
def load_prompt(name: str) -> PromptTemplateSpec:
    """Load ``prompts/<name>.yaml`` from the installed package."""
    if not _NAME.match(name):
        raise PromptError(f"bad prompt name {name!r}")
    resource = resources.files(__name__).joinpath(f"{name}.yaml")
    if not resource.is_file():
        raise PromptError(f"no prompt named {name!r}")
    return parse_prompt(name, resource.read_text(encoding="utf-8"))
