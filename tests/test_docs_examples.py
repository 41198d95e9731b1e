"""Every shell example in docs/*.md and contrib/*/README.md is an ocx command the real click
command tree accepts as written, and every repo file an example names exists."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from ocx.cli import cli  # the group `ocx.cli:main`, the console script, runs
from ocx.errors import OcxError

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([*ROOT.glob("docs/*.md"), *ROOT.glob("contrib/*/README.md")])
SHELL_TAGS = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^\s*```+\s*([\w+-]*)")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# `2>/dev/null`: shlex would leave the 2 behind as an argument of its own.
FD_PREFIX = re.compile(r"(?<![^\s;&|])\d+(?=[<>])")
OPERATOR_CHARS = set("();<>|&")
# Folders whose files ship with the repo: a path into one of them must exist.
REPO_DIRS = ("examples/", "tests/", "bench/", "contrib/", "docs/")

# Usage lines (`ocx promise done ID [--note TEXT]`): brackets, groups, `T...`.
SYNOPSIS = re.compile(r"\[-|\[[A-Za-z]|\(-|[A-Z\])]\.\.\.")
# What a usage line's placeholders stand for, where the option's type reads its value.
PLACEHOLDERS = {"N": "10", "WHEN": "tomorrow 9am", "DURATION": "2h"}
# What a console block shows right after a command when click refused it (exit 2).
USAGE_ERRORS = (
    "Error: Invalid value for", "Error: No such option", "Error: No such command",
    "Error: Missing argument", "Error: Missing option", "Error: Got unexpected extra argument",
)  # fmt: skip

# Examples that cannot be checked as written ("file:line": why). None so far; keep it short.
SKIPPED: dict[str, str] = {}


@dataclass(frozen=True)
class Line:
    """One command line of a shell block, continuation lines joined."""

    doc: str
    lineno: int
    text: str
    shown: str | None = None  # the `Error: ...` line a console block shows under it


@dataclass
class Example:
    """One top-level command of a line: the word lists to parse (a usage line gives one per
    alternative it offers) and the words that may be paths."""

    line: Line
    ocx: bool
    variants: list[list[str]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    error: str | None = None  # the line could not be read as shell

    @property
    def where(self) -> str:
        return f"{self.line.doc}:{self.line.lineno}"


def _lines(path: Path, doc: str) -> Iterator[Line]:
    lines = path.read_text(encoding="utf-8").splitlines()
    tag: str | None = None
    i = 0
    while i < len(lines):
        raw = lines[i]
        fence = FENCE.match(raw)
        if fence:
            tag = fence.group(1) if tag is None else None
            i += 1
            continue
        text = raw.strip()
        if tag not in SHELL_TAGS or not text or (tag == "console" and not text.startswith("$ ")):
            i += 1  # not shell, or a console block's output
            continue
        start = i + 1
        text = text.removeprefix("$ ")
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1].rstrip() + " " + lines[i].strip()
        # A long usage line goes on, indented, with its next [option] and no backslash.
        while (SYNOPSIS.search(text) and i + 1 < len(lines) and lines[i + 1][:1].isspace()
               and lines[i + 1].lstrip()[:1] in "[("):  # fmt: skip
            i += 1
            text += " " + lines[i].strip()
        shown = None
        if tag == "console" and i + 1 < len(lines) and lines[i + 1].startswith("Error:"):
            shown = lines[i + 1].strip()
        yield Line(doc, start, text, shown)
        i += 1


def _shell_pieces(text: str) -> list[list[str]]:
    """The top-level commands of a shell line (split at && ; | ( )), comments and
    redirections dropped."""
    lexer = shlex.shlex(FD_PREFIX.sub("", text), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    pieces: list[list[str]] = [[]]
    tokens = iter(lexer)
    for token in tokens:
        if token and set(token) <= OPERATOR_CHARS:
            if "<" in token or ">" in token:
                next(tokens, None)  # the file it redirects to
            else:
                pieces.append([])
            continue
        pieces[-1].append(token)
    return [piece for piece in pieces if piece]


def _without_env(words: list[str]) -> list[str]:
    """`OCX_NOW=... ocx due`: the command after its environment assignments."""
    i = 0
    while i < len(words) and ENV_ASSIGNMENT.match(words[i]):
        i += 1
    return words[i:]


# --- usage lines: `[optional]`, `(a | b)`, `--open|--all`, `1..4`, `T...` --------------------

Node = str | list[str] | list[list["Node"]]


def _synopsis_tokens(text: str) -> list[str]:
    text = re.sub(r"\s#\s.*$", "", text)  # usage lines hold no quotes: a comment is a comment
    tokens: list[str] = []
    for word in text.split():
        head = re.match(r"^[\[(]*", word).group()  # type: ignore[union-attr]
        tail = re.search(r"[\])]*(\.\.\.)?$", word[len(head) :]).group()  # type: ignore[union-attr]
        core = word[len(head) : len(word) - len(tail)]
        tokens += [*head, *([core] if core else []), *tail.replace("...", "")]
    return tokens


def _synopsis_seq(tokens: list[str], pos: int) -> tuple[list[list[Node]], int]:
    """The alternatives (split at a lone `|`) up to the closing `]` or `)`."""
    alternatives: list[list[Node]] = [[]]
    while pos < len(tokens) and tokens[pos] not in ("]", ")"):
        token = tokens[pos]
        pos += 1
        if token in ("[", "("):
            inner, pos = _synopsis_seq(tokens, pos)
            pos += 1  # the closer
            if inner in ([["options"]], [["OPTIONS"]]):  # `[options]`: "any of the options"
                inner = [[]]
            alternatives[-1].append(inner)
        elif token == "|":
            alternatives.append([])
        elif "|" in token:  # --open|--all, md|json
            alternatives[-1].append(token.split("|"))
        elif range_ := re.fullmatch(r"(\d+)\.\.(\d+)", token):  # 1..4: both ends
            alternatives[-1].append([range_.group(1), range_.group(2)])
        else:
            alternatives[-1].append(token)
    return alternatives, pos


def _expand(seq: list[Node]) -> list[list[str]]:
    """Word lists that together use every alternative once; the first takes the first of
    each, and every optional part is included (so each option named is checked)."""
    options: list[list[list[str]]] = []
    for node in seq:
        if isinstance(node, str):
            options.append([[node]])
        elif all(isinstance(n, str) for n in node):
            options.append([[word] for word in node])  # type: ignore[union-attr]
        else:
            options.append([v for alt in node for v in _expand(alt)])  # type: ignore[arg-type]
    base = [word for choices in options for word in choices[0]]
    variants = [base]
    for i, choices in enumerate(options):
        for choice in choices[1:]:
            variants.append(
                [w for j, c in enumerate(options) for w in (choice if j == i else c[0])]
            )
    return variants


def _synopsis_variants(text: str) -> list[list[str]]:
    alternatives, _ = _synopsis_seq(_synopsis_tokens(text), 0)
    return [v for alt in alternatives for v in _expand(alt)]


# --- collecting the examples ---------------------------------------------------------------


def _repo_paths(words: list[str]) -> list[str]:
    found = []
    for word in words:
        value = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
        value = value.removeprefix("./")
        if value.startswith(REPO_DIRS) and "$" not in value:
            found.append(value)
    return found


def _in_repo(path: str) -> bool:
    return any(ROOT.glob(path)) if any(c in path for c in "*?[") else (ROOT / path).exists()


def _examples(line: Line) -> list[Example]:
    if line.text.startswith("ocx ") and SYNOPSIS.search(line.text):
        variants = [[PLACEHOLDERS.get(w, w) for w in v] for v in _synopsis_variants(line.text)]
        return [Example(line, True, variants, [w for v in variants for w in v])]
    try:
        pieces = _shell_pieces(line.text)
    except ValueError as exc:  # unbalanced quotes: only news when it hides an ocx command
        if re.search(r"(^|[\s;&|(])ocx\s", line.text):
            return [Example(line, True, error=f"cannot read it as shell: {exc}")]
        return []
    examples = []
    for piece in pieces:
        words = _without_env(piece)
        if words[:1] == ["ocx"]:
            examples.append(Example(line, True, [[PLACEHOLDERS.get(w, w) for w in words]], words))
        elif _repo_paths(words):
            examples.append(Example(line, False, [], words))
    return examples


def _collect() -> list[Example]:
    examples = []
    for doc in DOCS:
        for line in _lines(doc, doc.relative_to(ROOT).as_posix()):
            examples += _examples(line)
    return examples


EXAMPLES = _collect()


def _ids(examples: list[Example]) -> list[str]:
    """file:line, and file:line#2 for a line's second command (`ocx init && ocx ...`)."""
    ids: list[str] = []
    for example in examples:
        count = sum(1 for other in ids if other.split("#")[0] == example.where)
        ids.append(f"{example.where}#{count + 1}" if count else example.where)
    return ids


# --- parsing against the real command tree -------------------------------------------------


def _rest(ctx: click.Context) -> list[str]:
    """What a group hands on to its subcommand, as click's Group.invoke reads it back."""
    protected = getattr(ctx, "_protected_args", None)  # click 8.2+
    if protected is None:
        protected = ctx.protected_args
    return [*protected, *ctx.args]


def _parse(words: list[str]) -> None:
    """Resolve `ocx ...` down the command tree and parse every level's arguments as click
    would before invoking the command, without invoking anything."""
    with ExitStack() as contexts:
        command: click.Command = cli
        ctx = contexts.enter_context(cli.make_context("ocx", words[1:]))
        while isinstance(command, click.Group):
            args = _rest(ctx)
            if not args:
                if command.invoke_without_command:
                    return
                ctx.fail("Missing command.")
            name, sub, args = command.resolve_command(ctx, args)
            assert name is not None and sub is not None
            ctx = contexts.enter_context(sub.make_context(name, args, parent=ctx))
            command = sub


def _refusal(words: list[str]) -> str | None:
    """The `Error: ...` line ocx would print while reading the arguments, else None."""
    try:
        _parse(words)
    except click.exceptions.Exit as exc:  # --version, --help: eager options end the parse
        return None if exc.exit_code == 0 else f"Error: exit {exc.exit_code}"
    except click.ClickException as exc:  # UsageError, BadParameter, NoSuchOption, ...
        return f"Error: {exc.format_message()}"
    except OcxError as exc:  # a WHEN that is no time at all is refused as it is read
        return f"Error: {exc}"
    return None


def _same(refusal: str, shown: str | None) -> bool:
    """The doc shows this error; its numbers may differ (a date a week from the doc's now)."""
    return shown is not None and re.sub(r"\d+", "0", refusal) == re.sub(r"\d+", "0", shown)


@pytest.fixture(autouse=True)
def entry_points_on(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugins come from the `ocx` entry-point group, as for a user: contrib commands resolve."""
    monkeypatch.delenv("OCX_DISABLE_PLUGINS", raising=False)


def test_the_docs_hold_examples_of_every_kind() -> None:
    commands = {tuple(v[1:3]) for e in EXAMPLES if e.ocx for v in e.variants}
    assert len([e for e in EXAMPLES if e.ocx]) > 100
    assert {("hello", "Margo"), ("import", "--list"), ("postmortem", "export")} <= commands
    assert any(not e.ocx for e in EXAMPLES)  # `pip install ./contrib/...` paths are checked


def test_contrib_plugin_commands_resolve_through_the_root_group() -> None:
    assert _refusal(["ocx", "hello", "Margo"]) is None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OCX_DISABLE_PLUGINS", "1")
        assert _refusal(["ocx", "hello", "Margo"]) == "Error: No such command 'hello'."


def test_reading_a_line_joins_continuations_and_splits_commands(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "```console\n$ OCX_NOW=2026-01-01T00:00:00Z ocx due --notify \\\n  --within 2h\n"
        "Error: Invalid value for '--within': no\n"
        "$ ocx promise list --json | jq '.[] | .text' > out.txt  # why\n```\n"
        "```sh\nocx customer list [--tag T | --company C] [--limit N]\n            [--json]\n```\n",
        encoding="utf-8",
    )
    lines = list(_lines(doc, "doc.md"))
    assert [(line.lineno, line.shown) for line in lines] == [
        (2, "Error: Invalid value for '--within': no"), (5, None), (8, None),
    ]  # fmt: skip
    assert [e.variants for line in lines for e in _examples(line) if e.ocx] == [
        [["ocx", "due", "--notify", "--within", "2h"]],
        [["ocx", "promise", "list", "--json"]],
        [
            ["ocx", "customer", "list", "--tag", "T", "--limit", "10", "--json"],
            ["ocx", "customer", "list", "--company", "C", "--limit", "10", "--json"],
        ],
    ]


@pytest.mark.parametrize("example", EXAMPLES, ids=_ids(EXAMPLES))
def test_doc_example_is_a_valid_ocx_command(example: Example) -> None:
    if example.where in SKIPPED:
        pytest.skip(SKIPPED[example.where])
    where = f"{example.where}: {example.line.text}"
    if example.error:
        pytest.fail(f"{where}\n  {example.error}", pytrace=False)
    missing = [p for p in _repo_paths(example.words) if not _in_repo(p)]
    if missing:
        pytest.fail(f"{where}\n  names {', '.join(missing)}, not in the repo", pytrace=False)
    shown = example.line.shown
    for words in example.variants:
        refusal = _refusal(words)
        if refusal is None:
            if shown and shown.startswith(USAGE_ERRORS):
                pytest.fail(f"{where}\n  the doc shows {shown!r}, but click accepts it",
                            pytrace=False)  # fmt: skip
        elif not _same(refusal, shown):  # unless it is the error the doc means to show
            tried = "" if words == example.words else f"\n  as: {shlex.join(words)}"
            pytest.fail(f"{where}{tried}\n  {refusal}", pytrace=False)
