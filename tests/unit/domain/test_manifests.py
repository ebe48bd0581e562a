"""Marker patching: only the marked scalar changes, byte for byte, like kyaml setters did.

Golden cases live in ``golden/manifests/<case>/``: ``input.yaml`` and ``case.json`` (token,
revision, and either the expected ``changed_lines`` with ``expected.yaml`` or the expected error
message). They are read and compared as bytes, so line endings and a missing final newline count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ferryman.domain import manifests

GOLDEN = Path(__file__).resolve().parent / "golden" / "manifests"
CASES = sorted(path.name for path in GOLDEN.iterdir() if path.is_dir())
PATCH_CASES = [name for name in CASES if (GOLDEN / name / "expected.yaml").exists()]
ERROR_CASES = [name for name in CASES if name not in PATCH_CASES]
PROD = "ns:app:prod"
MARK = '# {"$promotion": "ns:app:prod"}'


def _case(name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((GOLDEN / name / "case.json").read_text(encoding="utf-8"))
    return case


def _patch(text: str, revision: str = "2.0.0", token: str = PROD) -> manifests.PatchResult:
    return manifests.set_revision(text, token=token, revision=revision, filename="f.yaml")


def _load_all(text: str) -> list[Any]:
    """Parse with PyYAML; it rejects tabs as separators (YAML 1.2 allows them): read as spaces."""
    return list(yaml.safe_load_all(text.replace("\t", " ")))


def test_golden_set_is_complete() -> None:
    """The golden directory holds patch and error cases (a broken glob cannot pass silently)."""
    assert len(PATCH_CASES) >= 10
    assert len(ERROR_CASES) >= 10
    assert {"helmrelease", "kustomization-images", "crlf-no-final-newline"} <= set(PATCH_CASES)


@pytest.mark.parametrize("name", PATCH_CASES)
def test_golden_patch_is_byte_exact(name: str) -> None:
    """Each golden input patches to exactly its expected bytes and reports the changed lines."""
    case = _case(name)
    source = (GOLDEN / name / "input.yaml").read_bytes().decode("utf-8")
    expected = (GOLDEN / name / "expected.yaml").read_bytes()
    result = manifests.set_revision(source, token=case["token"], revision=case["revision"])
    assert result.text.encode("utf-8") == expected
    assert result.changed_lines == tuple(case["changed_lines"])


@pytest.mark.parametrize("name", PATCH_CASES)
def test_golden_patch_is_idempotent(name: str) -> None:
    """Patching the expected output again changes nothing: a retried promotion commits nothing."""
    case = _case(name)
    patched = (GOLDEN / name / "expected.yaml").read_bytes().decode("utf-8")
    again = manifests.set_revision(patched, token=case["token"], revision=case["revision"])
    assert again == manifests.PatchResult(text=patched, changed_lines=())


@pytest.mark.parametrize("name", CASES)
def test_golden_files_are_valid_yaml(name: str) -> None:
    """Every golden input and output is YAML a parser accepts, so the cases are realistic."""
    for path in sorted((GOLDEN / name).glob("*.yaml")):
        assert _load_all(path.read_bytes().decode("utf-8"))


@pytest.mark.parametrize("name", ERROR_CASES)
def test_golden_error_names_file_and_line(name: str) -> None:
    """A marker on something that is not a settable scalar raises the expected, located error."""
    case = _case(name)
    source = (GOLDEN / name / "input.yaml").read_bytes().decode("utf-8")
    with pytest.raises(manifests.ManifestError) as caught:
        manifests.set_revision(
            source, token=case["token"], revision=case["revision"], filename="input.yaml"
        )
    assert str(caught.value) == case["error"]
    assert caught.value.filename == "input.yaml"
    assert str(caught.value).startswith(f"input.yaml:{caught.value.line}: ")


def test_golden_crlf_case_really_has_crlf() -> None:
    """The CRLF golden file still has CRLF line breaks (a checkout must not normalise them)."""
    raw = (GOLDEN / "crlf-no-final-newline" / "input.yaml").read_bytes()
    assert raw.count(b"\r\n") == 6
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert not raw.endswith(b"\n")


def test_helmrelease_prod_touches_only_prod() -> None:
    """Promoting prod leaves the staging marker and the other pipeline's marker alone."""
    source = (GOLDEN / "helmrelease" / "input.yaml").read_text(encoding="utf-8")
    documents = _load_all(_patch(source, "6.1.0", "flux-system:podinfo:prod").text)
    versions = [doc["spec"]["chart"]["spec"]["version"] for doc in documents if doc]
    assert versions == ["6.0.3", "6.1.0", "18.1.0"]


# --------------------------------------------------------------------------- token and lookup


def test_promotion_token_joins_with_colons() -> None:
    """The token is "<namespace>:<pipeline>:<environment>", as Weave GitOps wrote it."""
    assert manifests.promotion_token("flux-system", "podinfo", "prod") == "flux-system:podinfo:prod"
    assert manifests.promotion_token("ns", "app", "eu:prod") == "ns:app:eu:prod"


@pytest.mark.parametrize(("namespace", "pipeline"), [("a:b", "app"), ("ns", "a:b")])
def test_promotion_token_rejects_colon_in_kubernetes_names(namespace: str, pipeline: str) -> None:
    """A colon in the namespace or pipeline would make the token ambiguous, so it is refused."""
    with pytest.raises(ValueError, match='contains ":"'):
        manifests.promotion_token(namespace, pipeline, "prod")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        pytest.param(f"v: 1 {MARK}\n", True, id="marker after a value"),
        pytest.param(f"{MARK}\n", True, id="misplaced marker on its own line is still seen"),
        pytest.param('v: 1 # {"$promotion": "ns:app:dev"}\n', False, id="other environment"),
        pytest.param(f"v: |\n  x: 1 {MARK}\n", False, id="inside a block scalar's text"),
        pytest.param(f"v: 'x {MARK}'\n", False, id="inside a quoted string"),
        pytest.param(f"v: x{MARK}\n", False, id="hash not preceded by a space"),
        pytest.param("v: 1 # $promotion ns:app:prod\n", False, id="not JSON"),
        pytest.param('v: 1 # ["$promotion", "ns:app:prod"]\n', False, id="JSON but not an object"),
        pytest.param('v: 1 # {"$promotion": 1}\n', False, id="marker value not a string"),
        pytest.param("v: 1 # " + "[" * 100_000 + '"$promotion"', False, id="absurdly deep JSON"),
        pytest.param("v: 1 # plain comment\n", False, id="comment without the key"),
        pytest.param("", False, id="empty text"),
    ],
)
def test_has_marker(text: str, found: bool) -> None:
    """has_marker sees real marker comments only, strictly parsed as JSON."""
    assert manifests.has_marker(text, PROD) is found


# --------------------------------------------------------------------------- placement table


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(f"- 1.0 {MARK}\n", f"- 2.0.0 {MARK}\n", id="sequence item"),
        pytest.param(f"- image:1.2 {MARK}\n", f"- 2.0.0 {MARK}\n", id="image-like item"),
        pytest.param(f"- - 1.0 {MARK}\n", f"- - 2.0.0 {MARK}\n", id="nested sequence item"),
        pytest.param(f"- v: 1.0 {MARK}\n", f"- v: 2.0.0 {MARK}\n", id="mapping in a sequence"),
        pytest.param(f"'v': 1.0 {MARK}\n", f"'v': 2.0.0 {MARK}\n", id="quoted key"),
        pytest.param(f"v:\t1.0\t{MARK}\n", f"v:\t2.0.0\t{MARK}\n", id="tabs kept"),
        pytest.param(f"v: &a !!str 1 {MARK}\n", f"v: &a !!str 2.0.0 {MARK}\n", id="anchor and tag"),
        pytest.param(
            f"v: 'it''s' {MARK}\n", f"v: '2.0.0' {MARK}\n", id="single with doubled quote"
        ),
        pytest.param(f'v: "a\\"b" {MARK}\n', f'v: "2.0.0" {MARK}\n', id="double with escape"),
        pytest.param(f"v: two words {MARK}\n", f"v: 2.0.0 {MARK}\n", id="plain with a space"),
        pytest.param("{a: 1, b: 1.0},\n", "{a: 1, b: 1.0},\n", id="no marker at all"),
        pytest.param(f"v: :x {MARK}\n", f"v: 2.0.0 {MARK}\n", id="plain starting with colon"),
        pytest.param(
            f"w: [&x a, *x]\nv: 1 {MARK}\n", f"w: [&x a, *x]\nv: 2.0.0 {MARK}\n", id="alias in flow"
        ),
        pytest.param(f'{{"v":1.0, {MARK}\n}}', f'{{"v":2.0.0, {MARK}\n}}', id="json-like flow"),
        pytest.param(
            f"x: {{\n  v: 'a', {MARK}\n}}\n", f"x: {{\n  v: '2.0.0', {MARK}\n}}\n", id="flow"
        ),
        pytest.param(f"[a, v: 1, {MARK}\n]\n", f"[a, v: 2.0.0, {MARK}\n]\n", id="flow pair"),
        pytest.param(f"\ufeffv: 1 {MARK}\n", f"\ufeffv: 2.0.0 {MARK}\n", id="byte order mark"),
        pytest.param(f"a: 1\n---\nv: 1 {MARK}\n", f"a: 1\n---\nv: 2.0.0 {MARK}\n", id="document"),
        pytest.param(f"--- |\n  v: 1 {MARK}\n", f"--- |\n  v: 1 {MARK}\n", id="document block"),
        pytest.param(
            f"--- |\n  x\n...\nv: 1 {MARK}\n", f"--- |\n  x\n...\nv: 2.0.0 {MARK}\n", id="doc end"
        ),
        pytest.param(
            f"a:\n  |\n    v: 1 {MARK}\nb: 1 {MARK}\n",
            f"a:\n  |\n    v: 1 {MARK}\nb: 2.0.0 {MARK}\n",
            id="block header on its own line",
        ),
        pytest.param(
            f"- a: >-\n    v: 1 {MARK}\n\n    more\n  b: 1 {MARK}\n",
            f"- a: >-\n    v: 1 {MARK}\n\n    more\n  b: 2.0.0 {MARK}\n",
            id="block scalar ends at a sibling key",
        ),
        pytest.param(
            f"- |\n  v: 1 {MARK}\n- 1 {MARK}\n",
            f"- |\n  v: 1 {MARK}\n- 2.0.0 {MARK}\n",
            id="block scalar as a sequence item",
        ),
        pytest.param(
            f"a: !x |\n  v: 1 {MARK}\nb: 1 {MARK}\n",
            f"a: !x |\n  v: 1 {MARK}\nb: 2.0.0 {MARK}\n",
            id="tagged block scalar",
        ),
        pytest.param(
            f'a: ["x\n  y", b]\nv: 1 {MARK}\n',
            f'a: ["x\n  y", b]\nv: 2.0.0 {MARK}\n',
            id="multi-line quoted in flow",
        ),
        pytest.param(
            f"a: 'x\n  y\n  z'\nv: 1 {MARK}\n",
            f"a: 'x\n  y\n  z'\nv: 2.0.0 {MARK}\n",
            id="quoted scalar over three lines",
        ),
        pytest.param(f"a: 'x\nv: 1 {MARK}\n", f"a: 'x\nv: 1 {MARK}\n", id="unclosed quote"),
        pytest.param(f"a: [x]]\nv: 1 {MARK}\n", f"a: [x]]\nv: 2.0.0 {MARK}\n", id="extra bracket"),
        pytest.param(
            f"v: {{a: [1, &b 2]}}\nw: 1 {MARK}\n",
            f"v: {{a: [1, &b 2]}}\nw: 2.0.0 {MARK}\n",
            id="anchor in flow",
        ),
        pytest.param(f"a: x\r\n\r\nv: 1 {MARK}\r\n", f"a: x\r\n\r\nv: 2.0.0 {MARK}\r\n", id="crlf"),
        pytest.param(f"a: x\rv: 1 {MARK}\r", f"a: x\rv: 2.0.0 {MARK}\r", id="old mac breaks"),
    ],
)
def test_marker_placement(source: str, expected: str) -> None:
    """Markers after `key: value` and `- value` scalars are set; everything else is kept."""
    assert _patch(source).text == expected


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        pytest.param(f"? key {MARK}\n: value\n", "is not after a scalar", id="complex key"),
        pytest.param(f"v: &a {MARK}\n  b: 1\n", "is on a mapping", id="anchored mapping"),
        pytest.param(f"&a {MARK}\n", "is not after a scalar", id="bare anchor"),
        pytest.param(f"v: [ {MARK}\n  a]\n", "is on a sequence", id="open flow sequence"),
        pytest.param(f"v: [a], {MARK}\n", "is on a sequence", id="closed sequence and comma"),
        pytest.param(f"- {MARK}\n  - a\n", "is on a sequence", id="dash then sequence"),
        pytest.param(f"- {MARK}\n- a\n", "is on an empty value", id="dash then sibling"),
        pytest.param(f"- {MARK}\n  a: 1\n", "is on a mapping", id="dash then mapping"),
        pytest.param(f"v: {MARK}\n  {{a: 1}}\n", "is on a mapping", id="flow mapping below"),
        pytest.param(f"v: {MARK}\n\n# note\n---\nw: 1\n", "is on an empty value", id="document"),
        pytest.param(f"v: {MARK}\n", "is on an empty value", id="end of text"),
        pytest.param(f"v: >2 {MARK}\n  text\n", "is on a block scalar", id="folded block"),
        pytest.param(f"[a, b {MARK}\n]\n", "is on an item of a flow collection", id="flow item"),
        pytest.param(f"{{a {MARK}\n}}\n", "is on an item of a flow collection", id="flow key"),
    ],
)
def test_marker_on_something_not_settable(source: str, problem: str) -> None:
    """A marker that does not follow a settable scalar is an error naming file, line and token."""
    with pytest.raises(manifests.ManifestError, match=problem) as caught:
        _patch(source)
    assert str(caught.value).startswith('f.yaml:1: the "$promotion" marker for ns:app:prod ')
    assert caught.value.line == 1


def test_marker_after_multi_line_single_quoted_scalar() -> None:
    """A quoted scalar closing on the marker's line began earlier: it cannot be set in place."""
    with pytest.raises(manifests.ManifestError, match="spans several lines") as caught:
        _patch(f"v: 'a\n  b' {MARK}\n")
    assert caught.value.line == 2


def test_error_only_for_the_promoted_token() -> None:
    """A misplaced marker of another environment does not stop this environment's promotion."""
    source = f'v: # {{"$promotion": "ns:app:dev"}}\n  a: 1\nw: 1 {MARK}\n'
    assert _patch(source).changed_lines == (3,)


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("revision", "written"),
    [
        ("1.2.3", "1.2.3"),
        ("v6.1.0", "v6.1.0"),
        ("main@sha1:0a1b2c", "main@sha1:0a1b2c"),
        ("sha256:abc", "sha256:abc"),
        ("x#y", "x#y"),
        ("a,b", "a,b"),
        ("🚀", "🚀"),
        ("1.10", '"1.10"'),
        ("10", '"10"'),
        ("+1", '"+1"'),
        (".5", '".5"'),
        ("1e3", '"1e3"'),
        ("0x1F", '"0x1F"'),
        ("0o17", '"0o17"'),
        ("1_000", '"1_000"'),
        ("1:20", '"1:20"'),
        (".inf", '".inf"'),
        ("-.Inf", '"-.Inf"'),
        (".NaN", '".NaN"'),
        ("2024-01-02", '"2024-01-02"'),
        ("2024-01-02T10:00:00Z", '"2024-01-02T10:00:00Z"'),
        ("true", '"true"'),
        ("Yes", '"Yes"'),
        ("on", '"on"'),
        ("n", '"n"'),
        ("null", '"null"'),
        ("~", '"~"'),
        ("<<", '"<<"'),
        ("", '""'),
        ("a: b", '"a: b"'),
        ("a #b", '"a #b"'),
        ("a:", '"a:"'),
        (" a", '" a"'),
        ("a ", '"a "'),
        ("-rc1", '"-rc1"'),
        ("*x", '"*x"'),
        ("&x", '"&x"'),
        ("!x", '"!x"'),
        ("%x", '"%x"'),
        ("@x", '"@x"'),
        ("`x", '"`x"'),
        ("[x", '"[x"'),
        ('"x', '"\\"x"'),
        ("a\tb", '"a\\tb"'),
        ("a\nb\r", '"a\\nb\\r"'),
        ("a\\b\x00", '"a\\\\b\\x00"'),
        ("a\u2028b", '"a\\u2028b"'),
        ("\U000e0001", '"\\U000e0001"'),
    ],
)
def test_plain_scalar_rendering(revision: str, written: str) -> None:
    """A plain scalar stays plain unless YAML would read the revision as something else."""
    assert _patch(f"v: old {MARK}\n", revision).text == f"v: {written} {MARK}\n"


@pytest.mark.parametrize(
    ("revision", "written"),
    [("a,b", '"a,b"'), ("a:b", '"a:b"'), ("a?b", '"a?b"'), ("a}", '"a}"'), ("1.2.3", "1.2.3")],
)
def test_plain_scalar_in_flow_collection(revision: str, written: str) -> None:
    """Inside {…} the characters that end a flow scalar force quotes as well."""
    assert _patch(f"x: {{\n  v: old, {MARK}\n}}\n", revision).text == (
        f"x: {{\n  v: {written}, {MARK}\n}}\n"
    )


def test_tagged_plain_scalar_needs_no_quotes_for_type() -> None:
    """An explicit tag fixes the type, so a number-like revision can stay plain after it."""
    assert _patch(f"v: !!str 1 {MARK}\n", "1.10").text == f"v: !!str 1.10 {MARK}\n"
    assert _patch(f"v: !!str 1 {MARK}\n", "a: b").text == f'v: !!str "a: b" {MARK}\n'


@pytest.mark.parametrize(
    ("style", "revision", "written"),
    [
        ("'x'", "it's", "'it''s'"),
        ("'x'", "", "''"),
        ("'x'", "a\nb", '"a\\nb"'),
        ('"x"', "it's", '"it\'s"'),
        ('"x"', 'a"b\\c', '"a\\"b\\\\c"'),
    ],
)
def test_quoted_scalar_rendering(style: str, revision: str, written: str) -> None:
    """Quoted scalars keep their quote style, escaping as that style requires."""
    assert _patch(f"v: {style} {MARK}\n", revision).text == f"v: {written} {MARK}\n"


# --------------------------------------------------------------------------- properties

TEMPLATES = [
    f"a: 1 # keep\nv: old {MARK}\nz: [1, 2]\n",
    f"a: 1\nv: 'old' {MARK}\nz: 2\n",
    f'a: 1\nv: "old" {MARK}\nz: 2\n',
    f"a: 1\nv: !!str old {MARK}\nz: 2\n",
    f"a: {{\n  v: old, {MARK}\n  z: 2}}\n",
    f"a: {{\n  v: 'old', {MARK}\n  z: 2}}\n",
    f"list:\n  - old {MARK}\n  - z\n",
]
REVISIONS = st.text(st.characters(codec="utf-8"), max_size=24) | st.from_regex(
    r"\A[-+.:#, a-z0-9_~!@*&?]{0,12}\Z"
)


def _value(document: Any) -> Any:
    if "list" in document:
        return document["list"][0]
    return document["a"]["v"] if isinstance(document["a"], dict) else document["v"]


@settings(max_examples=300, deadline=None)
@given(template=st.sampled_from(TEMPLATES), revision=REVISIONS)
def test_patched_value_reads_back_as_the_revision(template: str, revision: str) -> None:
    """Whatever the revision, YAML reads the marked value back as exactly that string."""
    result = _patch(template, revision)
    (document,) = _load_all(result.text)
    assert _value(document) == revision
    assert isinstance(_value(document), str)
    before, after = template.splitlines(), result.text.splitlines()
    assert len(before) == len(after)
    changed = [
        number
        for number, pair in enumerate(zip(before, after, strict=True), 1)
        if pair[0] != pair[1]
    ]
    assert tuple(changed) == result.changed_lines
    assert _patch(result.text, revision).changed_lines == ()


# --------------------------------------------------------------------------- real manifests

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures"
REAL_FILES = sorted((FIXTURES / "crds").glob("*.yaml"))


def _markable_lines(text: str) -> list[int]:
    """0-based lines ending in a one-line `key: scalar` or `- scalar`, found by PyYAML's parser."""
    lines = text.split("\n")
    last_scalar: dict[int, tuple[int, int, str | None]] = {}
    for event in yaml.parse(text):
        start, end = event.start_mark, event.end_mark
        assert start is not None
        assert end is not None
        if isinstance(event, yaml.ScalarEvent) and start.line == end.line:
            last_scalar[start.line] = (start.column, end.column, event.style)
    chosen = []
    for number, (start_column, end_column, style) in last_scalar.items():
        line = lines[number]
        ends_line = not line[end_column:].strip() and "#" not in line
        after_indicator = line[:start_column].rstrip().endswith((":", "-"))
        if style in (None, "'", '"') and ends_line and after_indicator:
            chosen.append(number)
    return sorted(chosen)


def test_real_files_are_present() -> None:
    """The shared CRD fixtures are found (a wrong path cannot make the next test vacuous)."""
    assert len(REAL_FILES) >= 5


@pytest.mark.parametrize("path", REAL_FILES, ids=[path.name for path in REAL_FILES])
def test_markers_on_every_scalar_of_real_crds(path: Path) -> None:
    """Marking every one-line scalar of a real Flux CRD sets exactly those and nothing else.

    The CRDs are long, deeply nested and full of multi-line descriptions, so they exercise the
    tokeniser on YAML nobody wrote for this test; PyYAML is the independent judge.
    """
    text = path.read_text(encoding="utf-8")
    chosen = _markable_lines(text)
    assert chosen
    lines = text.split("\n")
    for number in chosen:
        lines[number] = lines[number].rstrip() + ' # {"$promotion": "a:b:c"}'
    marked = "\n".join(lines)
    result = manifests.set_revision(marked, token="a:b:c", revision="9.9.9-rc")
    assert result.changed_lines == tuple(number + 1 for number in chosen)
    before = [e.value for e in yaml.parse(marked) if isinstance(e, yaml.ScalarEvent)]
    after = [e.value for e in yaml.parse(result.text) if isinstance(e, yaml.ScalarEvent)]
    assert len(before) == len(after)
    assert {new for old, new in zip(before, after, strict=True) if old != new} == {"9.9.9-rc"}
