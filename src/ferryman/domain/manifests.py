"""Set the scalar behind a ``# {"$promotion": "<ns>:<pipeline>:<env>"}`` marker: a pure text edit.

This is the compatibility surface with Weave GitOps: its pipeline-controller used kyaml setters,
which change only the marked scalar. Re-serialising the YAML would reorder keys, drop comments and
re-quote values, so instead each line is tokenised just far enough to find real comments (not a
``#`` inside a quoted string or inside a ``|``/``>`` block scalar's text) and the exact character
span of the scalar a marker follows. Only that span is replaced; everything else — other markers,
comments, quoting, line breaks (LF or CRLF), indentation with tabs or spaces, a missing final
newline — stays byte-identical.

The tokeniser understands the YAML that manifests are written in: block mappings and sequences,
flow collections (also spread over several lines), plain/single-/double-quoted scalars (also
multi-line), anchors, tags, aliases, block scalar headers and ``---``/``...`` document markers. A
marker that does not follow a scalar it can set unambiguously raises :class:`ManifestError` naming
the file and line, rather than guessing.

The new value keeps the old scalar's style when that represents the revision exactly; a plain
scalar whose new text YAML would read as another type (``1.10``, ``true``, ``null``) or as other
syntax (``a: b``, ``*x``, empty) is written double-quoted instead.

The module is longer than the usual ~400 lines because the line tokeniser, the placement rules
and the quoting rules are one concept: each is only correct together with the others.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Iterator, Sequence
from typing import Final

MARKER_KEY: Final = "$promotion"

_BOM: Final = "\ufeff"
_LINE_BREAK: Final = re.compile(r"(\r\n|\r|\n)")
_DOCUMENT_MARKER: Final = re.compile(r"(?:---|\.\.\.)(?=[ \t]|$)")
_SPACE: Final = " \t"
_FLOW_INDICATORS: Final = ",[]{}"
# Written plain inside a flow collection, YAML 1.1 parsers (PyYAML, libyaml) stop at these too.
_FLOW_UNSAFE: Final = _FLOW_INDICATORS + ":?"
# Characters a plain scalar may not start with (YAML 1.2 c-indicator). "-", "?" and ":" may start
# one when a non-space follows, but a revision starting with them is quoted to stay obviously safe.
_INDICATORS: Final = "-?:,[]{}#&*!|>'\"%@`"

# Plain scalars YAML 1.1 (sigs.k8s.io/yaml, PyYAML) or 1.2 (kyaml) resolves to null, bool,
# int, float or timestamp; written plain they would stop being the revision string.
_SPECIAL: Final = re.compile(
    r"~|null|Null|NULL"
    r"|y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|<<|=|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_NUMBER: Final = re.compile(  # matched after removing "_", which YAML 1.1 allows inside numbers
    r"[-+]?(?:0[box][0-9a-fA-F]+"
    r"|[0-9]+(?::[0-5]?[0-9])*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
    r"|\.[0-9]+(?:[eE][-+]?[0-9]+)?)"
)
_TIMESTAMP: Final = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt \t].*)?")
_NAMED_ESCAPES: Final = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class ManifestError(ValueError):
    """A marker for the promoted pipeline is where no scalar can be set; the message says where."""

    def __init__(self, message: str, *, filename: str = "", line: int = 0) -> None:
        super().__init__(message)
        self.filename = filename
        self.line = line


@dataclasses.dataclass(frozen=True)
class PatchResult:
    """The patched text and the 1-based lines whose scalar changed (empty: nothing to change),
    with each changed scalar's text before and after (``changes``: line, old, new)."""

    text: str
    changed_lines: tuple[int, ...]
    changes: tuple[tuple[int, str, str], ...] = ()


def promotion_token(namespace: str, pipeline: str, environment: str) -> str:
    """The marker value ``<namespace>:<pipeline>:<environment>`` that selects one environment.

    Namespace and pipeline are Kubernetes names and cannot contain ``:``, so the token is
    unambiguous even when an environment name contains one; a ``:`` there is a caller's bug.
    """
    for part in (namespace, pipeline):
        if ":" in part:
            raise ValueError(f'"{part}" is not a Kubernetes name: it contains ":"')
    return f"{namespace}:{pipeline}:{environment}"


def has_marker(text: str, token: str) -> bool:
    """Whether any real comment in ``text`` is a ``$promotion`` marker for ``token``."""
    return any(_marker(line) == token for line in _scan(_split(text)[0]))


def set_revision(text: str, *, token: str, revision: str, filename: str = "<input>") -> PatchResult:
    """Set every scalar marked for ``token`` to ``revision``, leaving all other bytes as they were.

    ``changed_lines`` is empty when no marker for ``token`` exists or every marked scalar already
    reads exactly ``revision`` (idempotent: a retried promotion makes no new commit). Raises
    :class:`ManifestError` when a marker for ``token`` follows something that is not a settable
    scalar; markers for other tokens are never inspected beyond their JSON.
    """
    contents, breaks = _split(text)
    lines = list(_scan(contents))
    changed: list[tuple[int, str, str]] = []
    for index, line in enumerate(lines):
        if _marker(line) != token:
            continue
        scalar, tagged = _marked_scalar(lines, index, token=token, filename=filename)
        old = line.content[scalar.start : scalar.end]
        new = _render(scalar, revision, tagged=tagged)
        if new != old:
            contents[index] = line.content[: scalar.start] + new + line.content[scalar.end :]
            changed.append((line.number, old, new))
    return PatchResult(
        text=_join(contents, breaks),
        changed_lines=tuple(number for number, _, _ in changed),
        changes=tuple(changed),
    )


# --------------------------------------------------------------------------- lines and tokens


class _Kind(enum.Enum):
    """What a token on a line is; only what marker placement needs is distinguished."""

    DASH = enum.auto()  # "- " opening a block sequence entry
    QUESTION = enum.auto()  # "? " opening a complex mapping key
    COLON = enum.auto()  # ":" separating a mapping key from its value
    OPEN = enum.auto()  # "{" or "[" opening a flow collection
    CLOSE = enum.auto()  # "}" or "]" closing one
    COMMA = enum.auto()  # "," between flow collection entries
    PROPERTY = enum.auto()  # "&anchor" or "!tag" before a node
    ALIAS = enum.auto()  # "*anchor" standing for another node
    BLOCK = enum.auto()  # "|" or ">" header of a block scalar whose text follows on later lines
    PLAIN = enum.auto()  # unquoted scalar
    SINGLE = enum.auto()  # 'single-quoted' scalar
    DOUBLE = enum.auto()  # "double-quoted" scalar


_QUOTED: Final = (_Kind.SINGLE, _Kind.DOUBLE)
_SCALARS: Final = (_Kind.PLAIN, *_QUOTED)


@dataclasses.dataclass(frozen=True)
class _Token:
    """A token's kind and its ``[start, end)`` columns on its line."""

    kind: _Kind
    start: int
    end: int
    text: str
    flow: bool  # inside a flow collection, where ",[]{}" end plain scalars
    multiline: bool = False  # a quoted scalar that began on an earlier line or ends on a later one


@dataclasses.dataclass(frozen=True)
class _Line:
    """One line without its line break, its tokens and where its comment starts."""

    number: int
    content: str
    tokens: tuple[_Token, ...]
    comment: int | None  # column of the "#" that starts a real comment
    document_marker: bool


@dataclasses.dataclass
class _State:
    """What one line leaves open for the next."""

    flow_depth: int = 0
    open_quote: str = ""  # the quote character of a quoted scalar not closed on its line
    block_parent: int | None = None  # block scalar text is the following lines indented deeper


def _split(text: str) -> tuple[list[str], list[str]]:
    """Line contents and the exact line breaks between them (``len(breaks) == len(contents)-1``)."""
    parts = _LINE_BREAK.split(text)
    return parts[0::2], parts[1::2]


def _join(contents: Sequence[str], breaks: Sequence[str]) -> str:
    pieces = [contents[0]]
    for line_break, content in zip(breaks, contents[1:], strict=True):
        pieces += [line_break, content]
    return "".join(pieces)


def _scan(contents: Sequence[str]) -> Iterator[_Line]:
    """Tokenise each line, carrying flow depth, open quotes and block scalars across lines."""
    state = _State()
    for index, content in enumerate(contents):
        start = 1 if index == 0 and content.startswith(_BOM) else 0
        is_marker = _DOCUMENT_MARKER.match(content, start) is not None
        if is_marker:
            state = _State()
            start += 3
        elif state.block_parent is not None:
            indent = len(content) - len(content.lstrip(_SPACE))
            if indent == len(content) or indent > state.block_parent:
                yield _Line(index + 1, content, (), None, document_marker=False)
                continue
            state.block_parent = None
        tokens, comment = _tokenize(content, start, state)
        if tokens and tokens[-1].kind is _Kind.BLOCK and not tokens[-1].flow:
            state.block_parent = -1 if is_marker else _parent_column(tokens, content)
        yield _Line(index + 1, content, tuple(tokens), comment, document_marker=is_marker)


def _parent_column(tokens: Sequence[_Token], content: str) -> int:
    """The column a block scalar's text must be indented beyond: its key's or its dash's."""
    index = len(tokens) - 2
    while index >= 0 and tokens[index].kind is _Kind.PROPERTY:
        index -= 1
    if index < 0:  # the header opens its line: the value of a key on an earlier line
        return len(content) - len(content.lstrip(_SPACE)) - 1
    owner = tokens[index]
    if owner.kind is _Kind.COLON and index > 0:
        return tokens[index - 1].start
    return owner.start


def _tokenize(content: str, start: int, state: _State) -> tuple[list[_Token], int | None]:
    """Tokens of one line up to its comment, and the comment's column; updates ``state``."""
    tokens: list[_Token] = []
    size = len(content)
    position = start
    if state.open_quote:
        kind = _Kind.DOUBLE if state.open_quote == '"' else _Kind.SINGLE
        end, closed = _scan_quoted(content, position, state.open_quote)
        tokens.append(
            _Token(kind, position, end, content[position:end], flow=False, multiline=True)
        )
        if not closed:
            return tokens, None
        state.open_quote = ""
        position = end
    while position < size:
        char = content[position]
        if char in _SPACE:
            position += 1
            continue
        if char == "#" and (position == 0 or content[position - 1] in _SPACE):
            return tokens, position
        flow = state.flow_depth > 0
        after = content[position + 1] if position + 1 < size else " "
        separated = after in _SPACE
        kind, end = _Kind.PLAIN, 0
        if char == "-" and separated and not flow:
            kind, end = _Kind.DASH, position + 1
        elif char == "?" and separated:
            kind, end = _Kind.QUESTION, position + 1
        elif char == ":" and (separated or _flow_colon(tokens, position, after, flow=flow)):
            kind, end = _Kind.COLON, position + 1
        elif char in "{[":
            kind, end = _Kind.OPEN, position + 1
            state.flow_depth += 1
        elif char in "}]":
            kind, end = _Kind.CLOSE, position + 1
            state.flow_depth = max(0, state.flow_depth - 1)
        elif char == ",":
            kind, end = _Kind.COMMA, position + 1
        elif char in "&!*":
            kind = _Kind.ALIAS if char == "*" else _Kind.PROPERTY
            end = _scan_word(content, position, flow=flow)
        elif char in "|>" and not flow:
            kind, end = _Kind.BLOCK, _scan_word(content, position, flow=False)
        elif char in "'\"":
            kind = _Kind.DOUBLE if char == '"' else _Kind.SINGLE
            end, closed = _scan_quoted(content, position + 1, char)
            if not closed:
                state.open_quote = char
                tokens.append(_Token(kind, position, end, content[position:end], flow, True))
                return tokens, None
        else:
            end = _scan_plain(content, position, flow=flow)
        tokens.append(_Token(kind, position, end, content[position:end], flow=flow))
        position = end
    return tokens, None


def _flow_colon(tokens: Sequence[_Token], position: int, after: str, *, flow: bool) -> bool:
    """In flow context ``:`` is an indicator before a flow indicator or right after a quoted key."""
    if not flow:
        return False
    quoted_key = bool(tokens) and tokens[-1].end == position and tokens[-1].kind in _QUOTED
    return after in _FLOW_INDICATORS or quoted_key


def _scan_quoted(content: str, position: int, quote: str) -> tuple[int, bool]:
    """End of a quoted scalar whose text starts at ``position``, and whether it closes here."""
    size = len(content)
    while position < size:
        char = content[position]
        if char == "\\" and quote == '"':
            position += 2
        elif char != quote:
            position += 1
        elif quote == "'" and content.startswith("''", position):
            position += 2
        else:
            return position + 1, True
    return size, False


def _scan_word(content: str, position: int, *, flow: bool) -> int:
    """End of an anchor, alias, tag or block header: the next space (or flow indicator in flow)."""
    position += 1
    while position < len(content) and content[position] not in _SPACE:
        if flow and content[position] in _FLOW_INDICATORS:
            break
        position += 1
    return position


def _scan_plain(content: str, position: int, *, flow: bool) -> int:
    """End of a plain scalar, trailing spaces excluded: before `` #``, ``: `` or flow indicators."""
    size = len(content)
    end = position = position + 1
    while position < size:
        char = content[position]
        after = content[position + 1] if position + 1 < size else " "
        if char in _SPACE:
            position += 1
            continue
        if char == "#" and content[position - 1] in _SPACE:
            break
        if char == ":" and (after in _SPACE or (flow and after in _FLOW_INDICATORS)):
            break
        if flow and char in _FLOW_INDICATORS:
            break
        end = position = position + 1
    return end


# --------------------------------------------------------------------------- markers


def _marker(line: _Line) -> str | None:
    """The token of the line's comment when it is marker JSON (strictly parsed), else None."""
    if line.comment is None:
        return None
    raw = line.content[line.comment + 1 :]
    if MARKER_KEY not in raw:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    token = value.get(MARKER_KEY) if isinstance(value, dict) else None
    return token if isinstance(token, str) else None


def _marked_scalar(
    lines: Sequence[_Line], index: int, *, token: str, filename: str
) -> tuple[_Token, bool]:
    """The scalar token the marker on ``lines[index]`` sets, and whether it carries a tag."""
    line = lines[index]

    def fail(problem: str) -> ManifestError:
        message = f'{filename}:{line.number}: the "{MARKER_KEY}" marker for {token} {problem}'
        return ManifestError(message, filename=filename, line=line.number)

    tokens = list(line.tokens)
    if tokens and tokens[-1].kind is _Kind.COMMA and tokens[-1].flow:
        tokens.pop()
    if not tokens:
        raise fail("stands on a line of its own; put it after the value it sets, on its line")
    node = tokens[-1]
    if node.kind in (_Kind.OPEN, _Kind.CLOSE, _Kind.COMMA):
        raise fail(f"is on a {_collection(node.text)}, not a scalar")
    if node.kind is _Kind.BLOCK:
        raise fail("is on a block scalar (| or >); only a scalar on the marker's line can be set")
    if node.kind is _Kind.ALIAS:
        raise fail("is on an alias, not a scalar; put the marker on the anchored value")
    position = len(tokens) - 2 if node.kind in _SCALARS else len(tokens) - 1
    tagged = False
    while position >= 0 and tokens[position].kind is _Kind.PROPERTY:
        tagged = tagged or tokens[position].text.startswith("!")
        position -= 1
    owner = tokens[position] if position >= 0 else None
    if node.kind not in _SCALARS:
        raise fail(_empty_value_problem(lines, index, tokens, owner))
    if node.multiline:
        raise fail("is on a quoted scalar that spans several lines; write the value on one line")
    if owner is None or owner.kind not in (_Kind.COLON, _Kind.DASH):
        if node.flow:
            raise fail("is on an item of a flow collection; there only `key: value` can be set")
        raise fail("is not after a scalar in `key: value` or `- value` form")
    return node, tagged


def _collection(bracket: str) -> str:
    return "mapping" if bracket in "{}" else "sequence"


def _empty_value_problem(
    lines: Sequence[_Line], index: int, tokens: Sequence[_Token], owner: _Token | None
) -> str:
    """Why a marker after ``key:`` or ``-`` with no scalar on its line cannot be set."""
    if owner is None or owner.kind not in (_Kind.COLON, _Kind.DASH):
        return "is not after a scalar in `key: value` or `- value` form"
    position = tokens.index(owner)
    column = tokens[position - 1].start if owner.kind is _Kind.COLON and position else owner.start
    following = _next_content_line(lines, index)
    if following is None:
        return "is on an empty value; give the field a placeholder value such as 0.0.0"
    first = following.tokens[0]
    deeper = first.start > column
    sibling = first.start == column and owner.kind is _Kind.COLON  # "key:" then "- item" below it
    if first.kind is _Kind.DASH and (deeper or sibling):
        return "is on a sequence, not a scalar"
    if not deeper:
        return "is on an empty value; give the field a placeholder value such as 0.0.0"
    if first.kind is _Kind.OPEN:
        return f"is on a {_collection(first.text)}, not a scalar"
    if any(token.kind is _Kind.COLON for token in following.tokens):
        return "is on a mapping, not a scalar"
    return "is on a key whose value starts on the next line; write the value on the marker's line"


def _next_content_line(lines: Sequence[_Line], index: int) -> _Line | None:
    """The next line of the same document with tokens (blank and comment lines skipped)."""
    for line in lines[index + 1 :]:
        if line.document_marker:
            return None
        if line.tokens:
            return line
    return None


# --------------------------------------------------------------------------- rendering


def _render(scalar: _Token, revision: str, *, tagged: bool) -> str:
    """``revision`` as a scalar in the old one's style, or double-quoted where that style can't."""
    if scalar.kind is _Kind.SINGLE and revision.isprintable():
        return "'" + revision.replace("'", "''") + "'"
    if scalar.kind is _Kind.PLAIN and _plain_is_exact(revision, flow=scalar.flow, tagged=tagged):
        return revision
    return _double_quoted(revision)


def _plain_is_exact(value: str, *, flow: bool, tagged: bool) -> bool:
    """Whether ``value`` written unquoted is read back as exactly this string."""
    if not value or not value.isprintable() or value != value.strip(" "):
        return False
    if value[0] in _INDICATORS or ": " in value or " #" in value or value.endswith(":"):
        return False
    if flow and any(char in _FLOW_UNSAFE for char in value):
        return False
    return tagged or not _resolves_to_other_type(value)


def _resolves_to_other_type(value: str) -> bool:
    """Whether a YAML 1.1 or 1.2 loader reads this plain scalar as null, bool, number or date."""
    return bool(
        _SPECIAL.fullmatch(value)
        or _NUMBER.fullmatch(value.replace("_", ""))
        or _TIMESTAMP.fullmatch(value)
    )


def _double_quoted(value: str) -> str:
    """``value`` double-quoted, escaping ``\\``, ``"`` and every non-printable character."""
    pieces = ['"']
    for char in value:
        if char in _NAMED_ESCAPES:
            pieces.append(_NAMED_ESCAPES[char])
        elif char.isprintable():
            pieces.append(char)
        elif ord(char) <= 0xFF:
            pieces.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            pieces.append(f"\\u{ord(char):04x}")
        else:
            pieces.append(f"\\U{ord(char):08x}")
    pieces.append('"')
    return "".join(pieces)
