"""Every example in the documentation runs, and the API reference is complete.

Three checks keep the docs honest:

- **Pages.** Each ```` ```python ```` block in ``docs/**/*.md`` is executed; the
  blocks of one page run in order in one namespace (a fresh module), so later
  blocks can use names from earlier ones, exactly as a reader types them. A
  ```` ```pycon ```` block is a doctest (``>>>`` lines and their expected
  output) run in the same namespace. Each page runs in an empty temporary
  directory with the environment restored afterwards. A ```` ```console ````
  block runs each ``$ command`` line in a shell and compares what it prints
  with the lines below it, like a doctest. A block preceded by the
  line ``<!-- skip-test -->`` is not run: keep that for blocks that need
  something a test machine cannot have, such as a cluster address.
  Pages that use Ray are marked ``ray``; they reuse the Ray session of the suite
  when one is running and otherwise start a small local one.
- **Docstrings.** Every module under ``src/klaw_core`` is imported and its
  docstring examples are run with ``doctest`` (``ELLIPSIS |
  NORMALIZE_WHITESPACE``). Ray modules are skipped only when Ray is missing;
  their examples run on the suite's Ray, even those marked ``+SKIP``.
- **Reference.** Every public module appears in a ``::: module`` block of
  ``docs/reference/``, has a module docstring, and every class and function it
  lists in ``__all__`` has a docstring.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from klaw_core._env import env_flag
from ray_support import HAVE_RAY, init_test_ray

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SRC = ROOT / "src"
PACKAGE = SRC / "klaw_core"

SKIP_MARKER = "<!-- skip-test -->"
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

RAY_USE = re.compile(r"""backend\s*=\s*["']ray["']|^\s*(?:import|from)\s+ray\b""", re.M)


# --------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown page."""

    lang: str
    source: str
    line: int  # 1-based line of the first line of code
    skip: bool


_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


def parse_blocks(text: str) -> list[Block]:
    """Return the fenced code blocks of a Markdown text, in order.

    Indented fences (inside admonitions or tabs) are dedented. A block is
    skipped when the last non-blank line before its opening fence is
    ``<!-- skip-test -->``.

    Raises:
        ValueError: for a fence that is never closed.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    previous = ""
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i])
        if match is None:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        info = match["info"].strip()
        lang = info.split()[0].lstrip(".").lower() if info else ""
        start = i + 1
        j = start
        close = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if j == len(lines):
            raise ValueError(f"unclosed code fence opened on line {i + 1}")
        body = [
            ln[len(indent) :] if ln.startswith(indent) else ln.lstrip() for ln in lines[start:j]
        ]
        blocks.append(Block(lang, "\n".join(body) + "\n", start + 1, previous == SKIP_MARKER))
        previous = ""
        i = j + 1
    return blocks


def doc_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def runnable(page: Path) -> list[Block]:
    return [
        b
        for b in parse_blocks(page.read_text(encoding="utf-8"))
        if b.lang in ("python", "py", "pycon", "console") and not b.skip
    ]


def _page_param(page: Path) -> Any:
    rel = page.relative_to(DOCS).as_posix()
    blocks = runnable(page)
    marks: list[pytest.MarkDecorator] = []
    if any(RAY_USE.search(b.source) for b in blocks if b.lang != "console"):
        marks.append(pytest.mark.ray)
        if not HAVE_RAY:
            marks.append(pytest.mark.skip(reason="Ray is not installed"))
    return pytest.param(page, id=rel, marks=marks)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[None]:
    """Reuse the suite's running Ray, or start a small local one kept for the session.

    Session-scoped like the channel tests' ``ray_cluster``: whichever starts
    first, the other finds Ray initialised and reuses it, so the suite starts
    Ray once.
    """
    import ray

    started = init_test_ray()
    yield
    if started:
        ray.shutdown()


def run_console(block: Block, where: str) -> None:
    """Run a ``console`` block: each ``$ command`` line in a shell, output compared.

    The expected output is the lines up to the next ``$`` line, compared like a
    doctest (``...`` matches anything, whitespace is normalised) with what the
    command wrote to stdout followed by what it wrote to stderr. The commands
    run in the page's working directory with the interpreter's ``bin``
    directory first on ``PATH``, so ``klaw`` is the command of the klaw-core
    under test.
    """
    steps: list[tuple[str, list[str]]] = []
    for line in block.source.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"console block at {where}: output before the first $ line")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    checker = doctest.OutputChecker()
    for command, expected_lines in steps:
        done = subprocess.run(
            ["bash", "-c", command],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        printed = done.stdout + done.stderr  # in this order, whatever the buffering
        expected = "\n".join(expected_lines).strip() + "\n"
        if not checker.check_output(expected, printed, OPTIONFLAGS):
            pytest.fail(
                f"console block at {where}: `{command}` (exit {done.returncode}) printed:\n"
                f"{printed}\nexpected:\n{expected}",
                pytrace=False,
            )


def run_blocks(page: Path, blocks: list[Block]) -> None:
    """Run ``blocks`` in order in one fresh namespace.

    A page is a script its reader runs, so the namespace has
    ``__name__ == "__main__"``: its ``if __name__ == "__main__":`` blocks run,
    and Ray pickles what it defines by value, exactly as for the reader's
    script. Python blocks are compiled with the page's line numbers, so a
    traceback points at the line of the Markdown file; ``pycon`` blocks run as
    doctests.
    """
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(page)}
    for block in blocks:
        where = f"{page.relative_to(ROOT)}:{block.line}"
        if block.lang == "console":
            run_console(block, where)
        elif block.lang == "pycon":
            test = doctest.DocTestParser().get_doctest(
                block.source, namespace, where, str(page), block.line - 1
            )
            runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
            out: list[str] = []
            runner.run(test, out=out.append, clear_globs=False)
            namespace.update(test.globs)  # a DocTest works on a copy: keep its names
            if runner.failures:
                pytest.fail(f"pycon block at {where} failed:\n{''.join(out)}", pytrace=False)
        else:
            # dont_inherit: this file's ``from __future__ import annotations`` must
            # not turn the page's annotations into strings.
            code = compile(
                "\n" * (block.line - 1) + block.source, str(page), "exec", dont_inherit=True
            )
            exec(code, namespace)


@pytest.mark.parametrize("page", [_page_param(p) for p in doc_pages()])
def test_page_examples_run(
    page: Path,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks = runnable(page)
    if not blocks:
        pytest.skip("no runnable code blocks")
    if request.node.get_closest_marker("ray"):
        request.getfixturevalue("ray_session")
    monkeypatch.chdir(tmp_path)
    saved_env = dict(os.environ)
    try:
        run_blocks(page, blocks)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)


def test_pages_exist() -> None:
    """The user guide named by FR-6.1 is there (and so the page tests are not vacuous)."""
    names = {p.relative_to(DOCS).as_posix() for p in doc_pages()}
    for required in (
        "index.md",
        "user-guide/index.md",
        "user-guide/wire-protocol.md",
        "user-guide/codec.md",
        "user-guide/types.md",
        "user-guide/channels.md",
        "user-guide/migration.md",
        "user-guide/configuration.md",
        "user-guide/result.md",
        "user-guide/cli.md",
    ):
        assert required in names


def test_block_parser() -> None:
    text = (
        "intro\n"
        "```python\nx = 1\n```\n"
        "<!-- skip-test -->\n\n"
        "```python\nraise SystemExit\n```\n"
        "!!! note\n    ```pycon\n    >>> x + 1\n    2\n    ```\n"
    )
    blocks = parse_blocks(text)
    assert [(b.lang, b.line, b.skip) for b in blocks] == [
        ("python", 3, False),
        ("python", 8, True),
        ("pycon", 12, False),
    ]
    assert blocks[2].source == ">>> x + 1\n2\n"
    with pytest.raises(ValueError, match="unclosed"):
        parse_blocks("```python\nx = 1\n")


def test_failing_example_fails(tmp_path: Path) -> None:
    """A wrong expected output or an exception in a block is a test failure."""
    page = DOCS / "example.md"  # only used for names and line numbers
    with pytest.raises(pytest.fail.Exception, match="failed"):
        run_blocks(page, parse_blocks("```pycon\n>>> 1 + 1\n3\n```\n"))
    with pytest.raises(pytest.fail.Exception, match="printed"):
        run_blocks(page, parse_blocks("```console\n$ echo hi\nbye\n```\n"))
    run_blocks(page, parse_blocks("```console\n$ printf 'a\\nb c\\n'\na\n...c\n```\n"))
    with pytest.raises(ZeroDivisionError):
        run_blocks(page, parse_blocks("```python\na = 1\n```\n```python\na / 0\n```\n"))


def test_griffe_extension_adapts_docstrings() -> None:
    """The API reference's docstring adapter (docs/_ext/griffe_klaw.py) does what it says."""
    spec = importlib.util.spec_from_file_location("griffe_klaw", DOCS / "_ext" / "griffe_klaw.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (
        "Decode it::\n\n    x = 1\n\n"
        "See :class:`~klaw_core.runtime.errors.TruncatedFrame` and :func:`pack_frame`,\n"
        "errors name the path (``at `$[1][3]```).\n\n"
        "Example:\n    >>> [1, 2]\n    [1, 2]\n"
    )
    assert module.adapt(text) == (
        "Decode it:\n\n    x = 1\n\n"
        "See `TruncatedFrame` and `pack_frame`,\n"
        "errors name the path (`` at `$[1][3]` ``).\n\n"
        "Examples:\n    >>> [1, 2]\n    [1, 2]\n"
    )
    table = "===  ====\ntag  type\n===  ====\n1    Data\n2    Ack\n===  ====\n"
    assert module.adapt(table) == ("| tag | type |\n| --- | --- |\n| 1 | Data |\n| 2 | Ack |\n")


# --------------------------------------------------------------------------- docstrings


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue  # running it is the CLI, not a module to document
        if not path.read_text(encoding="utf-8").strip():
            continue  # an empty package __init__: nothing to run or document
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    names.append("klaw_core._wirecore_c")
    return names


def _is_ray_module(name: str) -> bool:
    return ".channels.ray" in name


def _import_for_docs(name: str) -> types.ModuleType:
    if _is_ray_module(name) and not HAVE_RAY:
        pytest.skip("Ray is not installed")
    if name == "klaw_core._wirecore_c" and env_flag("KLAW_NO_EXTENSIONS"):
        try:
            return importlib.import_module(name)
        except ImportError:
            pytest.skip("compiled wire core not built (KLAW_NO_EXTENSIONS=1)")
    return importlib.import_module(name)


def _module_param(name: str) -> Any:
    marks = [pytest.mark.ray] if _is_ray_module(name) else []
    return pytest.param(name, id=name, marks=marks)


@pytest.mark.parametrize("module_name", [_module_param(n) for n in _module_names()])
def test_docstring_examples(module_name: str, request: pytest.FixtureRequest) -> None:
    module = _import_for_docs(module_name)
    if _is_ray_module(module_name):
        request.getfixturevalue("ray_session")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    out: list[str] = []
    for test in finder.find(module, module_name):
        if _is_ray_module(module_name):
            # Ray examples run here (Ray is up): a ``# doctest: +SKIP`` written
            # for a bare ``python -m doctest`` run does not hide them.
            for example in test.examples:
                example.options.pop(doctest.SKIP, None)
        runner.run(test, out=out.append)
    if runner.failures:
        pytest.fail(
            f"{runner.failures} of {runner.tries} docstring examples failed in {module_name}:\n"
            + "".join(out),
            pytrace=False,
        )


# --------------------------------------------------------------------------- reference


def public_modules() -> list[str]:
    """Modules whose dotted path has no component starting with an underscore."""
    return [
        n
        for n in _module_names()
        if not any(part.startswith("_") for part in n.split("."))
        and n not in ("klaw_core.cli",)  # documented as a command, not an API
    ]


def test_reference_covers_every_public_module() -> None:
    referenced = set(
        re.findall(
            r"^:::\s+([\w.]+)",
            "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "reference").glob("*.md")),
            re.M,
        )
    )
    missing = sorted(set(public_modules()) - referenced)
    assert not missing, f"public modules missing from docs/reference/*.md: {missing}"
    unknown = sorted(referenced - set(_module_names()))
    assert not unknown, f"docs/reference/ names modules that do not exist: {unknown}"


def _undocumented(module: types.ModuleType) -> Iterator[str]:
    if not (module.__doc__ or "").strip():
        yield f"{module.__name__} (module docstring)"
    exported = getattr(module, "__all__", None)
    if exported is None:
        yield f"{module.__name__}.__all__"
        return
    for name in exported:
        obj = getattr(module, name)
        documented = bool((getattr(obj, "__doc__", None) or "").strip())
        if (inspect.isclass(obj) or inspect.isroutine(obj)) and not documented:
            yield f"{module.__name__}.{name}"
        if inspect.isclass(obj) and obj.__module__ == module.__name__:
            for attr, value in vars(obj).items():
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                if attr.startswith("_") or not inspect.isfunction(value):
                    continue
                if not (value.__doc__ or "").strip():
                    yield f"{module.__name__}.{name}.{attr}"


@pytest.mark.parametrize("module_name", [_module_param(n) for n in public_modules()])
def test_public_names_have_docstrings(module_name: str) -> None:
    module = _import_for_docs(module_name)
    missing = list(_undocumented(module))
    assert not missing, f"public names without a docstring: {missing}"


def _section(name: str) -> re.Pattern[str]:
    return re.compile(rf"^[ \t]*{name}:[ \t]*$", re.M)


_ARGS, _RETURNS, _YIELDS, _RAISES = (_section(n) for n in ("Args", "Returns", "Yields", "Raises"))
_NOTHING_RETURNED = ("None", "NoReturn", "Never", "typing.NoReturn", "typing.Never")


def _raises_directly(fn: Any) -> bool:
    """Whether ``fn``'s own body (not a nested function) raises an exception it names."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0]
    pending: list[ast.AST] = list(ast.iter_child_nodes(body))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if not (isinstance(exc, ast.Name) and exc.id == "NotImplementedError"):
                return True
        pending.extend(ast.iter_child_nodes(node))
    return False


def _routine_gaps(qualname: str, fn: Any, *, needs_example: bool) -> Iterator[str]:
    """The Google sections a routine's docstring lacks: Args, Returns, Raises, Example."""
    doc = inspect.getdoc(fn) or ""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # pragma: no cover - every public routine is Python
        return
    # Private parameters (Ray adds ``_ray_trace_ctx`` to an actor's methods) are not documented.
    documented = [p for p in signature.parameters if p not in ("self", "cls") and p[:1] != "_"]
    if documented and not _ARGS.search(doc):
        yield f"{qualname}: Args"
    returned = signature.return_annotation
    nothing = returned in (None, type(None), inspect.Signature.empty) or (
        str(returned) in _NOTHING_RETURNED
    )
    if not nothing and not (_RETURNS.search(doc) or _YIELDS.search(doc)):
        yield f"{qualname}: Returns"
    if _raises_directly(fn) and not _RAISES.search(doc):
        yield f"{qualname}: Raises"
    if needs_example and ">>>" not in doc:
        yield f"{qualname}: Example"


def _incomplete(module: types.ModuleType) -> Iterator[str]:
    """Public names whose docstring lacks a section the reference promises.

    Each class and function a public module exports (and defines, here or in a
    private module) has an example; each public function and method documents
    its parameters (``Args:``), what it returns (``Returns:``/``Yields:``) and,
    when its own body raises, what (``Raises:``). Properties are described by
    their one paragraph.
    """
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        home = getattr(obj, "__module__", None) or ""
        if home != module.__name__ and not any(p.startswith("_") for p in home.split(".")):
            continue  # checked in the module that defines it
        qualname = f"{module.__name__}.{name}"
        if inspect.isclass(obj):
            if ">>>" not in (inspect.getdoc(obj) or ""):
                yield f"{qualname}: Example"
            for attr, value in vars(obj).items():
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                if not attr.startswith("_") and inspect.isfunction(value):
                    yield from _routine_gaps(f"{qualname}.{attr}", value, needs_example=False)
        elif inspect.isroutine(obj):
            yield from _routine_gaps(qualname, obj, needs_example=True)


@pytest.mark.parametrize("module_name", [_module_param(n) for n in public_modules()])
def test_public_docstrings_are_complete(module_name: str) -> None:
    module = _import_for_docs(module_name)
    missing = list(_incomplete(module))
    assert not missing, "docstring sections missing:\n  " + "\n  ".join(missing)


def test_completeness_check_finds_gaps() -> None:
    """The checker itself: a bare function is reported for each missing section."""

    def bare(x: int) -> int:
        """Double."""
        if x < 0:
            raise ValueError(x)
        return 2 * x

    assert list(_routine_gaps("bare", bare, needs_example=True)) == [
        "bare: Args",
        "bare: Returns",
        "bare: Raises",
        "bare: Example",
    ]


# --------------------------------------------------------------------------- generated tables

CONFIG_PAGE = DOCS / "user-guide" / "configuration.md"
TABLE_START = "<!-- config-table:start -->"
TABLE_END = "<!-- config-table:end -->"


def _attribute_docs(cls: type) -> dict[str, str]:
    """Map attribute name to its one-paragraph description from a Google ``Attributes:`` section."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    section = re.search(r"^Attributes:\n((?:[ \t]+.*\n?|\n)*)", doc, re.M)
    if section is None:
        return {}
    out: dict[str, str] = {}
    name = None
    for line in section.group(1).splitlines():
        entry = re.match(r"^ {4}(\w+)(?: \([^)]*\))?: (.*)$", line)
        if entry:
            name = entry.group(1)
            out[name] = entry.group(2).strip()
        elif name and line.strip():
            out[name] += " " + line.strip()
    return out


def _describe_type(tp: Any) -> str:
    """``int`` / ``str | None`` plus the msgspec.Meta bounds, for a table cell."""
    import typing

    import msgspec

    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        text = " \\| ".join(_describe_type(a) for a in inner)
        return f"{text} \\| `None`" if len(inner) < len(args) else text
    if typing.get_origin(tp) is typing.Annotated:
        base, *metadata = args
        bounds = []
        for meta in metadata:
            if not isinstance(meta, msgspec.Meta):
                continue
            if meta.ge is not None and meta.le is not None:
                bounds.append(f"{meta.ge:,} to {meta.le:,}")
            else:
                for attr, op in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
                    value = getattr(meta, attr)
                    if value is not None:
                        bounds.append(f"{op} {value:,}")
            if meta.min_length is not None or meta.max_length is not None:
                bounds.append(f"length {meta.min_length or 0} to {meta.max_length or 'any'}")
            if meta.pattern is not None:
                bounds.append(f"matching `{meta.pattern.encode('unicode_escape').decode()}`")
        return f"`{base.__name__}` " + ", ".join(bounds) if bounds else f"`{base.__name__}`"
    return f"`{getattr(tp, '__name__', tp)}`"


def _format_default(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, int):
        return f"`{value:_}`" if value >= 10_000 else f"`{value}`"
    return f"`{value}`"


def config_reference_table() -> str:
    """The Markdown table of every configuration key, generated from ``KlawConfig``."""
    import msgspec

    from klaw_core.runtime import config

    rows = [
        "| key | environment variable | type and range | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for section in msgspec.structs.fields(config.KlawConfig):
        docs = _attribute_docs(section.type)
        defaults = section.type()
        for field in msgspec.structs.fields(section.type):
            key = f"{section.name}.{field.name}"
            meaning = docs.get(field.name, "").replace("``", "`").replace("|", "\\|")
            meaning = meaning[:1].upper() + meaning[1:]
            rows.append(
                f"| `{key}` | `{config.env_var_name(key)}` | {_describe_type(field.type)} "
                f"| {_format_default(getattr(defaults, field.name))} | {meaning} |"
            )
    return "\n".join(rows)


def test_configuration_page_lists_every_key() -> None:
    """The table in configuration.md is exactly the one generated from KlawConfig.

    To refresh it: ``python tests/test_docs.py config-table`` and paste the
    output between the markers.
    """
    text = CONFIG_PAGE.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    expected = config_reference_table()
    assert text[start:end].strip() == expected, (
        "docs/user-guide/configuration.md is out of date; the table should be:\n" + expected
    )


@pytest.mark.parametrize(
    ("page", "module_name"),
    [
        ("user-guide/types.md", "klaw_core.runtime.types"),
        ("user-guide/wire-protocol.md", "klaw_core.runtime.channels.wire"),
        ("user-guide/codec.md", "klaw_core.runtime.channels.framing"),
    ],
)
def test_page_names_every_export(page: str, module_name: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if f"`{name}" not in text]
    assert not missing, f"{page} does not mention {missing} from {module_name}.__all__"


if __name__ == "__main__":
    if sys.argv[1:] == ["config-table"]:
        print(config_reference_table())
    else:
        sys.exit("usage: python tests/test_docs.py config-table")
