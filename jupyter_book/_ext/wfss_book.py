"""Sphinx extension of the NIRCam WFSS tutorial book (loaded through ``local_extensions``).

It does three things:

* checks, before anything is built, that the local MathJax copy that ``mathjax_path``
  points to is installed (``install_mathjax.sh``), so that a book whose math would not
  render offline is never produced silently;
* writes the API reference: one page per ``wfss_helpers`` module, ``api/<module>.md``
  for a top-level module and ``api/<folder>/<module>.md`` for a module of a folder
  (``wfss_helpers.extraction.box``: ``api/extraction/box.md``; modules whose name
  starts with ``_`` hold private helpers and have none), each a one-line placeholder
  that is replaced, when the page is read, by the module's ``automodule`` reference;
  and the overview ``api.md``, whose marker is replaced by one autosummary table per
  group of :data:`API_GROUPS`. Before anything is read, every module of the package
  found on disk must be in :data:`API_GROUPS` and have its page listed in ``_toc.yml``,
  in the order of :data:`API_GROUPS`: a new module cannot be left out of the reference
  (the build stops and says what to add);
* offers each notebook as an ``.ipynb`` download: the executed notebook that MyST-NB
  wrote (``jupyter_execute/``) is copied to ``_sources/<page>.ipynb`` in the HTML
  output, the theme's download menu lists it (``ipynb_source``, which sphinx-book-theme
  sets itself only for MyST-markdown notebooks, not for our jupytext ``.py`` ones), and
  a line under the page title links to it and to the ``.py`` source.
"""

from __future__ import annotations

import html
import importlib.util
import pkgutil
import shutil
from pathlib import Path

from sphinx.errors import ConfigError

PACKAGE = "wfss_helpers"

#: The API reference, in reading order: (group title, modules of the group).
API_GROUPS = (
    (
        "Trace geometry and positions",
        (
            "geometry.configuration",
            "geometry.trace",
            "geometry.inverse",
            "geometry.trace_functions",
            "geometry.sensitivity",
            "geometry.positions",
            "geometry.reference_files",
        ),
    ),
    (
        "The exposure",
        (
            "exposure",
        ),
    ),
    (
        "One source's spectrum",
        (
            "extraction.background",
            "extraction.box",
            "extraction.aperture",
            "extraction.box_background",
            "extraction.contamination",
            "extraction.centring",
            "extraction.results",
            "extraction.inputs",
            "extraction.optimal",
            "extraction.flux_calibration",
            "extraction.lines",
        ),
    ),
    (
        "A whole field",
        (
            "field.forward_model",
            "field.direct_sources",
            "field.footprints",
            "field.dispersed_source",
            "field.field_model",
            "field.refinement",
            "field.catalog_extraction",
            "field.spectra_file",
            "field.spectra_summary",
        ),
    ),
    (
        "Data sources",
        (
            "tutorial_data",
            "data_sources.mast",
            "data_sources.crds",
            "data_sources.pipeline",
            "data_sources.spec2",
        ),
    ),
    (
        "The demo dataset",
        (
            "demo.instrument",
            "demo.calibration_files",
            "demo.scene",
            "demo.build",
            "demo.manifest",
            "demo.dataset",
        ),
    ),
    (
        "Figures",
        (
            "plotting",
        ),
    ),
    (
        "Checks of inputs and arguments",
        (
            "checks.files",
            "checks.arguments",
        ),
    ),
)

#: The line of api.md that is replaced by the overview tables.
MARKER = "<!-- wfss-helpers-api -->"
#: The placeholder line of each module page (api/<module>.md).
PAGE_MARKER = "<!-- wfss-helpers-api-page -->"
API_DOCNAME = "api"
API_FOLDER = "api/"


def package_modules() -> list[str]:
    """The submodules of :data:`PACKAGE` that exist on disk (without importing them)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"The book documents {PACKAGE!r}, which is not importable: install the "
            "project first."
        )
    names = []
    for info in pkgutil.iter_modules(spec.submodule_search_locations):
        if info.name.startswith("_"):
            continue
        if not info.ispkg:
            names.append(info.name)
            continue
        # One level of subpackages (wfss_helpers.demo, ...), still without importing.
        sub = [str(Path(loc) / info.name) for loc in spec.submodule_search_locations]
        names += [
            f"{info.name}.{s.name}"
            for s in pkgutil.iter_modules(sub)
            if not s.name.startswith("_")
        ]
    return sorted(names)


def api_modules() -> list[str]:
    """The modules of the API reference (relative to :data:`PACKAGE`), in order."""
    return [name for _, modules in API_GROUPS for name in modules]


def module_docname(name: str) -> str:
    """Docname of a module's API page: ``api/exposure``, ``api/demo/instrument``."""
    return API_FOLDER + name.replace(".", "/")


def docname_module(docname: str) -> str | None:
    """The module (``exposure``, ``demo.instrument``) of an API page, or None."""
    if not docname.startswith(API_FOLDER):
        return None
    return docname[len(API_FOLDER) :].replace("/", ".")


def check_api_modules(toc_docnames: list[str]) -> None:
    """Every module on disk has a page in the table of contents, in the API order.

    Raises
    ------
    sphinx.errors.ConfigError
        Naming what to add (or remove) otherwise.
    """
    found = set(package_modules())
    listed = api_modules()
    unlisted = sorted(found - set(listed))
    if unlisted:
        raise ConfigError(
            f"API reference: {', '.join(f'{PACKAGE}.{m}' for m in unlisted)} is not "
            "documented. Add it to API_GROUPS in jupyter_book/_ext/wfss_book.py, add the "
            "page " + ", ".join(f"jupyter_book/{module_docname(m)}.md" for m in unlisted)
            + f" (containing the line {PAGE_MARKER}) and list it in _toc.yml."
        )
    gone = [m for m in listed if m not in found]
    if gone:
        raise ConfigError(
            f"API reference: module(s) {', '.join(gone)} of {PACKAGE} not found; remove "
            "them from API_GROUPS in jupyter_book/_ext/wfss_book.py and from _toc.yml."
        )
    in_toc = [docname for docname in toc_docnames if docname.startswith(API_FOLDER)]
    expected = [module_docname(m) for m in listed]
    if in_toc != expected:
        missing = [d for d in expected if d not in in_toc]
        extra = [d for d in in_toc if d not in expected]
        detail = (
            f"missing {missing}" if missing else f"not modules {extra}" if extra
            else "in another order"
        )
        raise ConfigError(
            f"API reference: the API pages of _toc.yml ({detail}) must be, in this "
            f"order: {', '.join(expected)}."
        )


def overview_markdown() -> str:
    """MyST source of the generated part of api.md: a table of modules per group."""
    lines = []
    for title, modules in API_GROUPS:
        lines += [f"## {title}", "", "```{eval-rst}", ".. autosummary::", ""]
        lines += [f"   {PACKAGE}.{module}" for module in modules]
        lines += ["```", ""]
    return "\n".join(lines)


def module_markdown(module: str) -> str:
    """MyST source of one module's API page."""
    name = f"{PACKAGE}.{module}"
    return "\n".join(
        [
            f"# `{name}`",
            "",
            "```{eval-rst}",
            f".. automodule:: {name}",
            "   :members:",
            "   :show-inheritance:",
            "```",
            "",
        ]
    )


def _toc_docnames(app) -> list[str]:
    """Docnames of the book's table of contents, in reading order."""
    site_map = getattr(app.config, "external_site_map", None)
    if site_map is None:
        return []
    order, seen = [], set()

    def walk(docname):
        if docname in seen or docname not in site_map:
            return
        seen.add(docname)
        order.append(docname)
        for subtree in site_map[docname].subtrees:
            for item in subtree.items:
                if isinstance(item, str):
                    walk(str(item))

    walk(site_map.root.docname)
    return order


def _check_api_pages(app):
    check_api_modules(_toc_docnames(app))


def _fill_api_pages(app, docname, source):
    if docname == API_DOCNAME:
        if MARKER not in source[0]:
            raise ConfigError(
                f"{docname}: the marker {MARKER!r} is missing; the API overview has "
                "nowhere to go."
            )
        source[0] = source[0].replace(MARKER, overview_markdown())
        return
    module = docname_module(docname)
    if module is None:
        return
    if module not in api_modules():
        raise ConfigError(
            f"{docname}: {PACKAGE}.{module} is not in API_GROUPS of "
            "jupyter_book/_ext/wfss_book.py."
        )
    if PAGE_MARKER not in source[0]:
        raise ConfigError(
            f"{docname}: the placeholder {PAGE_MARKER!r} is missing; the page is "
            "generated from the module's docstrings."
        )
    source[0] = module_markdown(module)


def _api_pages_always_outdated(app, env, added, changed, removed):
    # The pages' content comes from the package's docstrings, which Sphinx does not track.
    pages = [API_DOCNAME] + [module_docname(m) for m in api_modules()]
    return [page for page in pages if page in env.found_docs]


# --------------------------------------------------------------------------- downloads


def _is_notebook(app, pagename) -> bool:
    return "kernelspec" in app.env.metadata.get(pagename, {})


def write_notebook_download(app, pagename) -> Path:
    """Write ``_sources/<pagename>.ipynb`` into the HTML output; its path.

    The executed notebook of the build (MyST-NB's ``jupyter_execute/``), or, if the
    notebooks were not executed, the source converted by jupytext (no outputs). The
    jupytext pairing metadata is dropped: the download is a plain notebook.
    """
    import jupytext
    import nbformat

    target = Path(app.outdir, "_sources", *f"{pagename}.ipynb".split("/"))
    executed = Path(app.outdir).parent.joinpath(
        "jupyter_execute", *f"{pagename}.ipynb".split("/")
    )
    if executed.is_file():
        notebook = nbformat.read(executed, as_version=4)
    else:
        notebook = jupytext.read(app.env.doc2path(pagename))
    notebook.metadata.pop("jupytext", None)
    nbformat.validate(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


def _offer_notebook_download(app, pagename, templatename, context, doctree):
    """Runs before the theme's header buttons (priority 501)."""
    if app.builder.format != "html" or doctree is None or not _is_notebook(app, pagename):
        return
    write_notebook_download(app, pagename)
    context["ipynb_source"] = f"{pagename}.ipynb"  # the theme's download menu lists it
    sources = context["pathto"]("_sources", 1)
    ipynb = html.escape(f"{sources}/{pagename}.ipynb")
    source = html.escape(f"{sources}/{context['sourcename']}")
    name = html.escape(Path(pagename).name)
    line = (
        '<p class="wfss-download">Download this notebook: '
        f'<a class="reference download" href="{ipynb}" download="{name}.ipynb">'
        f"{name}.ipynb</a> (as executed for this page, with its outputs), or its source "
        f'<a class="reference download" href="{source}" download="{name}.py">'
        f"{name}.py</a> (jupytext percent format; both run on the demo data "
        "anywhere the package is installed).</p>\n"
    )
    body = context.get("body", "")
    end_of_title = body.find("</h1>")
    if end_of_title < 0:
        context["body"] = line + body
    else:
        end_of_title += len("</h1>")
        context["body"] = body[:end_of_title] + "\n" + line + body[end_of_title:]


# --------------------------------------------------------------------------- MathJax


def _check_mathjax(app, config):
    path = config.mathjax_path
    if "://" in path or path.startswith("//"):
        raise ConfigError(
            f"mathjax_path = {path!r} loads MathJax from the network; the book must "
            "build and read offline."
        )
    candidates = [Path(app.srcdir, static, path) for static in config.html_static_path]
    if not any(candidate.is_file() for candidate in candidates):
        raise ConfigError(
            f"MathJax is not installed: none of {', '.join(str(c) for c in candidates)} "
            "exists. Run `bash jupyter_book/install_mathjax.sh` (or `make book`, which "
            "does it)."
        )


def setup(app):
    app.connect("config-inited", _check_mathjax)
    app.connect("builder-inited", _check_api_pages)
    app.connect("source-read", _fill_api_pages)
    app.connect("env-get-outdated", _api_pages_always_outdated)
    app.connect("html-page-context", _offer_notebook_download, priority=500)
    return {"version": "1.1", "parallel_read_safe": True, "parallel_write_safe": True}
