"""The chooser ``klaw_core._wirecore``: compiled unless told otherwise, decided once.

A normal install must load the compiled module; ``KLAW_NO_EXTENSIONS`` and
``KLAW_REQUIRE_EXTENSIONS`` are checked by re-importing in a subprocess with
the variables flipped, since the decision is taken once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from types import ModuleType

import pytest

import klaw_core
from klaw_core import _wirecore
from klaw_core._env import env_flag

NAMES = [
    "DEFAULT_MAX_FRAME_SIZE",
    "PREFIX_SIZE",
    "BufferPool",
    "FrameDecoder",
    "HeaderPeek",
    "decode_frames",
    "encode_frames",
    "pack_frame",
    "peek_header",
    "peek_version",
    "split_frames",
]

PROBE = (
    "import klaw_core, klaw_core._wirecore as w; print(w.IMPLEMENTATION, klaw_core.IMPLEMENTATION)"
)


def run_probe(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KLAW_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, timeout=120
    )


def compiled_available() -> bool:
    try:
        import klaw_core._wirecore_c  # noqa: F401
    except ImportError:
        return False
    return True


needs_compiled = pytest.mark.skipif(not compiled_available(), reason="compiled wire core not built")


def test_normal_install_loads_the_compiled_module() -> None:
    expected = "python" if env_flag("KLAW_NO_EXTENSIONS") else "cython"
    assert expected == _wirecore.IMPLEMENTATION
    assert expected == klaw_core.IMPLEMENTATION


def test_chooser_exports_the_chosen_twin(compiled: ModuleType, pure: ModuleType) -> None:
    chosen = pure if _wirecore.IMPLEMENTATION == "python" else compiled
    for name in NAMES:
        assert getattr(_wirecore, name) is getattr(chosen, name), name
    assert set(NAMES) <= set(_wirecore.__all__)


def test_twins_export_the_same_names(compiled: ModuleType, pure: ModuleType) -> None:
    assert sorted(compiled.__all__) == sorted(pure.__all__)
    for name in pure.__all__:
        assert hasattr(compiled, name), name


@pytest.mark.parametrize("value", ["1", "true", "yes", "YES", " on "])
def test_no_extensions_true_spellings_choose_python(value: str) -> None:
    result = run_probe(KLAW_NO_EXTENSIONS=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["python", "python"]


@needs_compiled
@pytest.mark.parametrize("value", ["0", "false", "", "no"])
def test_no_extensions_false_spellings_choose_cython(value: str) -> None:
    result = run_probe(KLAW_NO_EXTENSIONS=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cython", "cython"]


@needs_compiled
def test_require_extensions_alone_loads_cython() -> None:
    result = run_probe(KLAW_REQUIRE_EXTENSIONS="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cython", "cython"]


def test_require_and_no_extensions_together_is_an_import_error() -> None:
    result = run_probe(KLAW_NO_EXTENSIONS="1", KLAW_REQUIRE_EXTENSIONS="1")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "KLAW_NO_EXTENSIONS and KLAW_REQUIRE_EXTENSIONS are both set" in result.stderr


def test_bad_spelling_is_an_error() -> None:
    result = run_probe(KLAW_NO_EXTENSIONS="ture")
    assert result.returncode != 0
    assert "ValueError" in result.stderr
    assert "KLAW_NO_EXTENSIONS='ture' is not a boolean" in result.stderr


@needs_compiled
def test_results_pickle_across_twins() -> None:
    """A HeaderPeek made by the compiled twin unpickles in a pure-only process."""
    make = (
        "import pickle, sys, klaw_core._wirecore as w;"
        "sys.stdout.buffer.write(pickle.dumps(w.peek_header(bytes.fromhex('9301950101a163072ac0'))))"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KLAW_")}
    made = subprocess.run(
        [sys.executable, "-c", make], env=environ, capture_output=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    assert b"_wirecore_c" not in made.stdout
    load = (
        "import pickle, sys, klaw_core._wirecore as w; assert w.IMPLEMENTATION == 'python';"
        "print(pickle.loads(sys.stdin.buffer.read()))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", load],
        env={**environ, "KLAW_NO_EXTENSIONS": "1"},
        input=made.stdout,
        capture_output=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.decode().strip() == (
        "HeaderPeek(tag=1, version=1, kind=1, channel_id='c', seq=7, ts=42)"
    )
