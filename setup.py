"""Build the compiled wire core, ``klaw_core._wirecore_c``.

Switches (environment variables, parsed by ``src/klaw_core/_env.py`` exactly as
the import-time chooser parses them):

- ``KLAW_NO_EXTENSIONS=1``: build a pure-Python package, no compiler needed.
- ``KLAW_DEBUG=1``: ``-O0 -g3``, Cython line tracing (profiling, coverage, gdb).
- ``KLAW_ANNOTATE=1``: write Cython's HTML annotation next to the ``.pyx``.
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
    spec = importlib.util.spec_from_file_location("_klaw_env", HERE / "src" / "klaw_core" / "_env.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.env_flag


env_flag = _load_env_flag()

NO_EXTENSIONS = env_flag("KLAW_NO_EXTENSIONS") or sys.implementation.name != "cpython"
DEBUG = env_flag("KLAW_DEBUG")
ANNOTATE = env_flag("KLAW_ANNOTATE")
SANITIZE = os.environ.get("KLAW_SANITIZE", "").strip()


def _extensions():
    if NO_EXTENSIONS:
        return []
    from Cython.Build import cythonize

    compile_args = ["-O0", "-g3"] if DEBUG else ["-O3"]
    link_args = []
    macros = []
    if DEBUG:
        macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]
    if SANITIZE:
        flags = [f"-fsanitize={SANITIZE}", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
        compile_args += flags + ["-g"]
        link_args += flags
    if sys.platform == "win32":
        compile_args = [a for a in compile_args if not a.startswith("-")]

    extension = Extension(
        "klaw_core._wirecore_c",
        ["ext/_wirecore_c.pyx"],
        depends=[str(p.relative_to(HERE)) for p in sorted((HERE / "ext").glob("*.pxi"))],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=macros,
    )
    return cythonize(
        [extension],
        annotate=ANNOTATE,
        compiler_directives={
            "language_level": "3",
            "embedsignature": True,
            "linetrace": DEBUG,
            "profile": DEBUG,
        },
    )


setup(ext_modules=_extensions())
