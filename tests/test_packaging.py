"""Packaging facts a user relies on, read from the *installed* distribution.

The metadata and files checked here are those ``pip install`` delivered (the
editable install in a checkout, the wheel in CI's fresh venv and under
cibuildwheel), not ``pyproject.toml``, so a wrong MANIFEST.in, package-data or
extra shows up as a failure. Nothing here builds anything: these run in well
under a second.

With ``KLAW_TEST_WHEEL=1`` (set by ``.ci/run``'s wheel step and by cibuildwheel's
test-environment) ``test_running_against_an_installed_wheel`` also proves the
suite is exercising the wheel: imported from site-packages, compiled core
loaded, no Cython sources shipped.
"""

from __future__ import annotations

import importlib.machinery
import json
import sysconfig
import tomllib
from importlib import metadata, resources
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import klaw_core
from klaw_core._env import env_flag

DIST = "klaw-core"


def _requirements() -> list[Requirement]:
    return [Requirement(line) for line in metadata.requires(DIST) or []]


def _extra_requirement_names(extra: str) -> set[str]:
    """Names of the distributions ``klaw-core[extra]`` adds, self-references expanded."""
    names: set[str] = set()
    for req in _requirements():
        if req.marker is None or not req.marker.evaluate({"extra": extra}):
            continue
        if req.name == DIST:
            for nested in req.extras:
                names |= _extra_requirement_names(nested)
        else:
            names.add(canonicalize_name(req.name))
    return names


def test_type_information_ships_with_the_package() -> None:
    package = resources.files("klaw_core")
    assert package.joinpath("py.typed").is_file()
    assert package.joinpath("_wirecore_c.pyi").is_file()


def test_version_in_code_matches_the_distribution() -> None:
    assert klaw_core.__version__ == metadata.version(DIST)


def test_msgspec_is_the_only_hard_dependency() -> None:
    unconditional = {
        canonicalize_name(req.name)
        for req in _requirements()
        if req.marker is None or req.marker.evaluate({"extra": ""})
    }
    assert unconditional == {"msgspec"}


def test_metadata_declares_python_license_and_extras() -> None:
    meta = metadata.metadata(DIST)
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT"
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {"ray", "toml", "test", "test-noray", "bench", "docs", "lint", "release"} <= extras


def test_ray_extra_brings_ray() -> None:
    assert _extra_requirement_names("ray") == {"ray"}


def test_test_extra_is_test_noray_plus_ray() -> None:
    without_ray = _extra_requirement_names("test-noray")
    assert "ray" not in without_ray
    assert {"pytest", "pytest-asyncio", "hypothesis", "tomli-w"} <= without_ray
    assert _extra_requirement_names("test") == without_ray | {"ray"}


def test_cibuildwheel_test_extras_exist(request: pytest.FixtureRequest) -> None:
    """Every extra cibuildwheel installs for testing is one the package declares."""
    pyproject = request.config.rootpath / "pyproject.toml"
    with pyproject.open("rb") as f:
        cibw = tomllib.load(f)["tool"]["cibuildwheel"]
    named = set(cibw["test-extras"])
    for override in cibw.get("overrides", []):
        named |= set(override.get("test-extras", []))
    assert named
    assert named <= set(metadata.metadata(DIST).get_all("Provides-Extra") or [])


def test_klaw_console_script_resolves() -> None:
    (script,) = metadata.entry_points(group="console_scripts", name="klaw")
    assert script.value == "klaw_core.cli:main"
    assert callable(script.load())


@pytest.mark.skipif(
    not env_flag("KLAW_TEST_WHEEL"),
    reason="only when testing an installed wheel (KLAW_TEST_WHEEL=1, set by .ci/run and cibuildwheel)",
)
def test_running_against_an_installed_wheel() -> None:
    dist = metadata.distribution(DIST)
    direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
    assert not direct_url.get("dir_info", {}).get("editable", False), direct_url

    site_dirs = {Path(sysconfig.get_path(key)).resolve() for key in ("purelib", "platlib")}
    package_dir = Path(klaw_core.__file__).resolve().parent
    assert package_dir.parent in site_dirs, f"klaw_core imported from {package_dir}"

    from klaw_core import _wirecore_c

    assert klaw_core.IMPLEMENTATION == "cython"
    compiled = Path(_wirecore_c.__file__).resolve()
    assert compiled.parent == package_dir
    assert compiled.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))

    shipped = {str(path) for path in dist.files or []}
    assert {"klaw_core/py.typed", "klaw_core/_wirecore_c.pyi"} <= shipped
    assert f"klaw_core/{compiled.name}" in shipped
    sources = sorted(p for p in shipped if p.endswith((".pyx", ".pxi", ".pxd", ".c", ".h")))
    assert sources == [], "Cython/C sources belong in the sdist only"
