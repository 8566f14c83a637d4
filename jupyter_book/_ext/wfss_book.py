"""Sphinx extension of the NIRCam WFSS tutorial book (loaded through ``local_extensions``).

It does two things:

* checks, before anything is built, that the local MathJax copy that ``mathjax_path``
  points to is installed (``install_mathjax.sh``), so that a book whose math would not
  render offline is never produced silently;
* writes the API page: ``api.md`` holds a marker that is replaced, when the page is read,
  by an autosummary table and one ``automodule`` section per ``wfss_helpers`` module.
  The modules come in the reading order of :data:`API_MODULES`, and any other module of
  the package found on disk is appended, so that a new module cannot be left out of the
  reference.
"""

from __future__ import annotations

import importlib.util
import pkgutil
from pathlib import Path

from sphinx.errors import ConfigError

PACKAGE = "wfss_helpers"

#: Modules of the API page, in reading order: name -> required (False: documented if present).
API_MODULES = {
    "tutorial_data": True,
    "data_access": True,
    "demo.dataset": True,
    "demo.build": True,
    "demo.instrument": True,
    "demo.scene": True,
    "crds_config": True,
    "pipeline": True,
    "source_positions": True,
    "trace": True,
    "background": True,
    "extraction": True,
    "flux_calibration": True,
    "lines": True,
    "plotting": True,
    "file_checks": True,
    "argument_checks": True,
}

#: The line of api.md that is replaced by the generated reference.
MARKER = "<!-- wfss-helpers-api -->"
API_DOCNAME = "api"


def package_modules() -> list[str]:
    """The submodules of :data:`PACKAGE` that exist on disk (without importing them)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"The book documents {PACKAGE!r}, which is not importable: install the project first.")
    names = []
    for info in pkgutil.iter_modules(spec.submodule_search_locations):
        if info.name.startswith("_"):
            continue
        if not info.ispkg:
            names.append(info.name)
            continue
        # One level of subpackages (wfss_helpers.demo), still without importing anything.
        sub = [str(Path(loc) / info.name) for loc in spec.submodule_search_locations]
        names += [f"{info.name}.{s.name}" for s in pkgutil.iter_modules(sub) if not s.name.startswith("_")]
    return sorted(names)


def api_modules() -> list[str]:
    """The fully qualified modules of the API page, in order."""
    found = set(package_modules())
    missing = [name for name, required in API_MODULES.items() if required and name not in found]
    if missing:
        raise ConfigError(f"API page: module(s) {', '.join(missing)} of {PACKAGE} not found.")
    ordered = [name for name in API_MODULES if name in found]
    ordered += [name for name in sorted(found) if name not in API_MODULES]
    return [f"{PACKAGE}.{name}" for name in ordered]


def api_markdown(modules: list[str]) -> str:
    """MyST source of the generated part of the API page."""
    lines = ["```{eval-rst}", ".. autosummary::", ""]
    lines += [f"   {module}" for module in modules]
    lines += ["```", ""]
    for module in modules:
        lines += [
            f"## `{module}`",
            "",
            "```{eval-rst}",
            f".. automodule:: {module}",
            "   :members:",
            "   :show-inheritance:",
            "```",
            "",
        ]
    return "\n".join(lines)


def _fill_api_page(app, docname, source):
    if docname != API_DOCNAME:
        return
    if MARKER not in source[0]:
        raise ConfigError(f"{docname}: the marker {MARKER!r} is missing; the API reference has nowhere to go.")
    source[0] = source[0].replace(MARKER, api_markdown(api_modules()))


def _api_page_always_outdated(app, env, added, changed, removed):
    # The page's content comes from the package's docstrings, which Sphinx does not track.
    return [API_DOCNAME] if API_DOCNAME in env.found_docs else []


def _check_mathjax(app, config):
    path = config.mathjax_path
    if "://" in path or path.startswith("//"):
        raise ConfigError(f"mathjax_path = {path!r} loads MathJax from the network; the book must build and read offline.")
    candidates = [Path(app.srcdir, static, path) for static in config.html_static_path]
    if not any(candidate.is_file() for candidate in candidates):
        raise ConfigError(
            f"MathJax is not installed: none of {', '.join(str(c) for c in candidates)} exists. "
            "Run `bash jupyter_book/install_mathjax.sh` (or `make book`, which does it)."
        )


def setup(app):
    app.connect("config-inited", _check_mathjax)
    app.connect("source-read", _fill_api_page)
    app.connect("env-get-outdated", _api_page_always_outdated)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
