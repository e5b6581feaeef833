"""Build the compiled wire core, ``klaw_core._wirecore_c``.

Switches (environment variables, parsed by ``src/klaw_core/_env.py`` exactly as
the import-time chooser parses them):

- ``KLAW_NO_EXTENSIONS=1``: build a pure-Python package, no compiler needed.
- ``KLAW_DEBUG=1``: ``-O0 -g3``, Cython line tracing (profiling, coverage, gdb);
  release builds are ``-O3 -g0`` (no DWARF: the wheel's module shrinks 6x).
  Its C goes to ``build/cython-debug/``, apart from the release C in ``ext/``:
  cythonize regenerates C only when a source is newer, so a shared file would
  let tracing hooks leak into a release build (or be missing from a debug one).
- ``KLAW_ANNOTATE=1``: write Cython's HTML annotation next to the generated C.
- ``KLAW_SANITIZE=address,undefined``: build with those ``-fsanitize=`` checks.

Without ``KLAW_NO_EXTENSIONS`` a compile failure fails the build: a silent
fallback to the slow twin must be impossible to miss.
"""

import importlib.util
import os
import sys
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent.resolve()


def _load_env_flag():
    path = HERE / "src" / "klaw_core" / "_env.py"
    spec = importlib.util.spec_from_file_location("_klaw_env", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.env_flag


env_flag = _load_env_flag()

NO_EXTENSIONS = env_flag("KLAW_NO_EXTENSIONS")
if not NO_EXTENSIONS and sys.implementation.name != "cpython":
    print(f"klaw-core: no compiled wire core on {sys.implementation.name}", file=sys.stderr)
    NO_EXTENSIONS = True
DEBUG = env_flag("KLAW_DEBUG")
ANNOTATE = env_flag("KLAW_ANNOTATE")
SANITIZE = os.environ.get("KLAW_SANITIZE", "").strip()


def _extensions():
    if NO_EXTENSIONS:
        return []
    from Cython.Build import cythonize

    compile_args = ["-O0", "-g3"] if DEBUG else ["-O3", "-g0"]  # -g0: Python's CFLAGS say -g
    link_args = []
    macros = []
    if DEBUG:
        macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]
    if SANITIZE:
        flags = [f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
        compile_args += [*flags, "-g"]
        link_args += flags
    if sys.platform == "win32":
        compile_args = [a for a in compile_args if not a.startswith("-")]

    extension = Extension(
        "klaw_core._wirecore_c",
        ["ext/_wirecore_c.pyx"],
        depends=sorted(str(p.relative_to(HERE)) for p in HERE.glob("ext/*.px[id]")),
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=macros,
    )
    return cythonize(
        [extension],
        build_dir="build/cython-debug" if DEBUG else None,
        annotate=ANNOTATE,
        compiler_directives={
            "language_level": "3",
            "embedsignature": True,
            "linetrace": DEBUG,
            "profile": DEBUG,
        },
    )


setup(ext_modules=_extensions())
