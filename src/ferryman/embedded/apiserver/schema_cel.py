"""CEL rules of ``x-kubernetes-validations``: compiled once per schema, evaluated on every write.

Parsing is cel-python's (``celpy``), so the grammar is the real CEL grammar. Each rule is then
compiled to Python closures (``schema_cel_closures``, the fast road) or, for constructs that
compiler does not cover, handed to celpy's interpreter. A rule naming a variable or function
neither road knows is a compile error, so a CRD whose rule cannot be enforced is refused
instead of silently passing every object.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

import celpy
import lark
from celpy import adapter, celparser, evaluation

from ferryman.embedded.apiserver import schema_cel_closures as closures

ABSENT = closures.ABSENT
CelEvalError = closures.CelEvalError
CelCompileError = closures.CelCompileError
_FIELD_PATH = re.compile(r"""\.([A-Za-z_][\w-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]""")


@functools.cache
def _environment() -> celpy.Environment:
    """One parser for the process: building lark's CEL grammar takes tens of milliseconds."""
    return celpy.Environment()


@dataclasses.dataclass(frozen=True)
class Program:
    """A compiled expression: a Python closure, or a celpy runner as the fallback."""

    source: str
    fast: closures.Fn | None
    slow: celpy.Runner | None

    @classmethod
    def compile(cls, source: str) -> Program:
        """Parse and compile ``source``; raise CelCompileError when it cannot be enforced."""
        try:
            tree = _environment().compile(source)
        except celparser.CELParseError as exc:
            raise CelCompileError(f"compilation failed: {exc}".strip()) from exc
        _check_names(tree, bound=frozenset({"self", "oldSelf"}))
        try:
            return cls(source, closures.compile_closure(tree), None)
        except closures.UnsupportedError:
            return cls(source, None, _environment().program(tree))

    def evaluate(self, env: closures.Env) -> Any:
        """Evaluate with ``env`` ({"self": ..., "oldSelf": ...} as plain JSON values)."""
        if self.fast is not None:
            return self.fast(env)
        if self.slow is None:  # compile() always sets one of the two
            raise CelEvalError(f"the rule {self.source!r} was not compiled")
        activation = {k: adapter.json_to_cel(v) for k, v in env.items() if v is not ABSENT}
        try:
            result = self.slow.evaluate(activation)
        except evaluation.CELEvalError as exc:
            raise CelEvalError(str(exc.args[0]) if exc.args else "evaluation error") from exc
        if isinstance(result, evaluation.CELEvalError):
            raise CelEvalError(str(result.args[0]) if result.args else "evaluation error")
        return _from_cel(result)


def _from_cel(value: Any) -> Any:
    """celpy values back to plain Python (they subclass the builtins, except bool)."""
    if isinstance(value, celpy.celtypes.BoolType):
        return bool(value)
    return value


@dataclasses.dataclass(frozen=True)
class Rule:
    """One x-kubernetes-validations entry, ready to run."""

    source: str
    program: Program
    message: str
    message_expression: Program | None
    field_path: str  # suffix for the cause's field, e.g. ".foo" or "[key]"
    reason: str | None
    uses_old_self: bool

    @classmethod
    def compile(
        cls,
        source: str,
        *,
        message: str = "",
        message_expression: str = "",
        field_path: str = "",
        reason: Any = None,
    ) -> Rule:
        """Compile a rule and its messageExpression; raise CelCompileError when impossible."""
        if reason is not None and reason not in (
            "FieldValueInvalid",
            "FieldValueForbidden",
            "FieldValueRequired",
            "FieldValueDuplicate",
        ):
            raise CelCompileError(f"reason: Unsupported value: {reason!r}")
        return cls(
            source=source,
            program=Program.compile(source),
            message=message.strip(),
            message_expression=Program.compile(message_expression) if message_expression else None,
            field_path=_parse_field_path(field_path),
            reason=reason,
            uses_old_self=re.search(r"\boldSelf\b", source) is not None,
        )

    def describe(self) -> str:
        """What Kubernetes calls ruleErrorString: the message, or the rule text."""
        return self.message or self.source.strip()


def _parse_field_path(text: str) -> str:
    """Turn ``.spec.foo['a.b']`` into the field-path suffix ``.spec.foo[a.b]``."""
    pos, out = 0, []
    while pos < len(text):
        match = _FIELD_PATH.match(text, pos)
        if match is None:
            raise CelCompileError(
                f"fieldPath: Invalid value: {text!r}: must be a valid path "
                "such as .foo.bar or .foo['bar']"
            )
        out.append(f".{match.group(1)}" if match.group(1) else f"[{match.group(2)}]")
        pos = match.end()
    return "".join(out)


def _check_names(tree: lark.Tree[Any], *, bound: frozenset[str]) -> None:
    """Refuse free variables other than self/oldSelf (and macro variables in their scope)."""
    if tree.data == "member_dot_arg" and str(tree.children[1]) in closures.MACROS:
        target, args = tree.children[0], tree.children[2] if len(tree.children) > 2 else None
        if isinstance(target, lark.Tree):
            _check_names(target, bound=bound)
        variable = closures.bare_ident(args.children[0]) if isinstance(args, lark.Tree) else None
        if variable is None or not isinstance(args, lark.Tree):
            raise CelCompileError(
                f"compilation failed: {tree.children[1]}() needs a variable "
                "name as its first argument"
            )
        for arg in args.children[1:]:
            if isinstance(arg, lark.Tree):
                _check_names(arg, bound=bound | {variable})
        return
    if tree.data == "ident":
        name = str(tree.children[0])
        if name not in bound:
            raise CelCompileError(f"compilation failed: ERROR: undeclared reference to '{name}'")
        return
    for child in tree.children:
        if isinstance(child, lark.Tree):
            _check_names(child, bound=bound)
    if tree.data in ("ident_arg", "member_dot_arg"):
        name = str(tree.children[0] if tree.data == "ident_arg" else tree.children[1])
        if (
            name != "has"
            and name not in closures.FUNCTIONS
            and name not in evaluation.base_functions
        ):
            raise CelCompileError(f"compilation failed: ERROR: undeclared reference to '{name}'")
    if tree.data in ("dot_ident", "dot_ident_arg", "member_object"):
        raise CelCompileError(
            "compilation failed: message construction and qualified names "
            "are not supported in CRD validation rules"
        )
