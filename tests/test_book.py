"""The Jupyter Book builds offline with no warnings, and reads right in a real browser.

Once per module, the book in ``jupyter_book/`` is built as ``make book`` builds it (every
notebook executed on the demo data, ``--warningiserror``), into a temporary directory, and
served from a loopback HTTP server. Headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by selenium) then loads the index and the notebook pages as a
reader would, and the tests check in the browser that

* the sidebar navigation lists every page of ``_toc.yml``;
* MathJax (the book's own local copy) has typeset every formula: MathJax output elements
  are present, there are no TeX errors, and no raw ``$...$`` / ``\\(...\\)`` TeX is left in
  the prose;
* the figures are there: every image has loaded with a non-zero natural size;
* nothing was fetched from anywhere but the local server.

Without a browser, the built HTML is checked too: one API page per module, each notebook
offered as an ``.ipynb`` download (a valid, executed notebook) and the Binder/Colab launch
links. And ``make lab`` is started headless on loopback, to check that JupyterLab serves
the ``.py`` notebooks as notebooks (jupytext) and opens them as notebooks by default.

Screenshots are written to ``build/book-screenshot.png`` (the first notebook, full page)
and ``build/book-screenshots/`` (every page checked); their paths, and the build log's, are
printed in the test log. Without Chromium the browser tests are skipped, unless the
environment variable ``CI`` is set: then they fail.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "jupyter_book"
ARTIFACTS = ROOT / "build"
SCREENSHOT = ARTIFACTS / "book-screenshot.png"
SCREENSHOT_DIR = ARTIFACTS / "book-screenshots"
BUILD_LOG = ARTIFACTS / "book-build.log"
# The flags of `make book` (Makefile); --all: every page is re-read, every notebook re-run.
BUILD_FLAGS = ["--warningiserror", "--keep-going", "--all"]
BUILD_TIMEOUT = 1500  # seconds

#: Notebook pages that must show at least one figure.
PAGES_WITH_FIGURES = (
    "notebooks/01_trace_geometry",
    "notebooks/02_calibration_and_positions",
    "notebooks/03_box_extraction",
    "notebooks/04_two_grisms",
    "notebooks/05_pipeline_spec2",
    "notebooks/06_crowded_field",
)
#: The page kept as ``build/book-screenshot.png``.
MAIN_SCREENSHOT_PAGE = "notebooks/01_trace_geometry"

#: Modules of the API reference, in the order of their pages: science helpers, data
#: sources, the demo, checks. Each has a page api/<module>.html (api/<folder>/<name>.html).
API_MODULES = (
    "geometry.configuration",
    "geometry.trace",
    "geometry.inverse",
    "geometry.trace_functions",
    "geometry.sensitivity",
    "geometry.positions",
    "geometry.reference_files",
    "exposure",
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
    "field.forward_model",
    "field.direct_sources",
    "field.footprints",
    "field.dispersed_source",
    "field.field_model",
    "field.refinement",
    "field.catalog_extraction",
    "field.spectra_file",
    "field.spectra_summary",
    "tutorial_data",
    "data_sources.mast",
    "data_sources.crds",
    "data_sources.pipeline",
    "data_sources.spec2",
    "demo.instrument",
    "demo.calibration_files",
    "demo.scene",
    "demo.build",
    "demo.manifest",
    "demo.dataset",
    "plotting",
    "checks.files",
    "checks.arguments",
)
#: The launch buttons' repository (a placeholder until the project is published).
REPOSITORY = "wfss-helpers/nircam-wfss-tutorial"

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1400,1000",
)


def _toc_pages() -> tuple[list[str], list[str]]:
    """Docnames of the book's pages, in order, from _toc.yml; and those of the sections."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    pages, sections = [toc["root"]], []
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        for chapter in part.get("chapters", []):
            pages.append(chapter["file"])
            sections += [section["file"] for section in chapter.get("sections", [])]
            pages += [section["file"] for section in chapter.get("sections", [])]
    return pages, sections


TOC_PAGES, TOC_SECTIONS = _toc_pages()
NOTEBOOK_PAGES = [page for page in TOC_PAGES if page.startswith("notebooks/")]
API_PAGES = [f"api/{module.replace('.', '/')}" for module in API_MODULES]


def _report(config, message):
    """Print a line to the test log even when output is captured (e.g. under -q)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(message, file=sys.__stderr__)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(message)


def _in_ci() -> bool:
    return "CI" in os.environ


def _find_executable(variable, *names):
    """An executable from $variable, or the first of ``names`` on PATH."""
    if os.environ.get(variable):
        return os.environ[variable] if os.access(os.environ[variable], os.X_OK) else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


# --------------------------------------------------------------------------- building


@pytest.fixture(scope="module")
def built_book(tmp_path_factory, pytestconfig):
    """Build the book once, as `make book` does, into a temporary directory; its HTML dir."""
    install = subprocess.run(
        ["bash", str(BOOK / "install_mathjax.sh")], capture_output=True, text=True, timeout=300
    )
    assert install.returncode == 0, f"installing MathJax failed:\n{install.stdout}\n{install.stderr}"

    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book"]
    output = tmp_path_factory.mktemp("book")
    command += ["build", str(BOOK), "--path-output", str(output), *BUILD_FLAGS]
    start = time.perf_counter()
    env = {**os.environ, "WFSS_TUTORIAL_DATA": "demo"}  # the offline demo data, whatever the shell says
    build = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    seconds = time.perf_counter() - start

    ARTIFACTS.mkdir(exist_ok=True)
    log = f"$ {' '.join(command)}\n\n{build.stdout}\n--- stderr ---\n{build.stderr}"
    BUILD_LOG.write_text(re.sub(r"\x1b\[[0-9;]*m", "", log))
    _report(pytestconfig, f"\nbook built in {seconds:.0f} s (exit {build.returncode}); build log: {BUILD_LOG}")
    if build.returncode != 0:
        tail = "\n".join(BUILD_LOG.read_text().splitlines()[-60:])
        pytest.fail(f"`jupyter-book build` failed (exit {build.returncode}); log in {BUILD_LOG}. Last lines:\n{tail}")
    html = output / "_build" / "html"
    assert (html / "index.html").is_file()
    return html


def test_book_has_every_page(built_book):
    for page in TOC_PAGES:
        assert (built_book / f"{page}.html").is_file(), f"{page} was not rendered"


def test_api_pages_document_the_helpers(built_book):
    """One page per module, in the order of API_MODULES, each generated from docstrings."""
    api_sections = [page for page in TOC_SECTIONS if page.startswith("api/")]
    assert api_sections == API_PAGES, f"_toc.yml lists the API pages {api_sections}"
    overview = (built_book / "api.html").read_text()
    positions = []
    for module, page in zip(API_MODULES, API_PAGES):
        html = (built_book / f"{page}.html").read_text()
        assert f'id="module-wfss_helpers.{module}"' in html, f"{page}: no wfss_helpers.{module}"
        # The overview's table links to the module's page.
        link = re.search(rf'href="{re.escape(page)}\.html#module-wfss_helpers\.{re.escape(module)}"', overview)
        assert link, f"api.html does not link to {page}.html"
        positions.append(link.start())
    assert positions == sorted(positions), "api.html lists the modules in another order"
    # Function and class entries generated from docstrings, not just module headings.
    assert 'id="wfss_helpers.tutorial_data.get_tutorial_data"' in (built_book / "api/tutorial_data.html").read_text()
    assert 'id="wfss_helpers.extraction.box.box_extract"' in (built_book / "api/extraction/box.html").read_text()
    assert 'id="wfss_helpers.geometry.trace.GrismTrace"' in (built_book / "api/geometry/trace.html").read_text()


def _book_extension():
    """jupyter_book/_ext/wfss_book.py, imported as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("wfss_book", BOOK / "_ext" / "wfss_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_module_can_be_left_out_of_the_api_reference(monkeypatch):
    """The extension stops the build, saying what to add, if a module has no API page."""
    from sphinx.errors import ConfigError

    extension = _book_extension()
    toc = [page for page in TOC_PAGES]
    extension.check_api_modules(toc)  # the book as it is
    on_disk = extension.package_modules()
    assert set(on_disk) == set(API_MODULES), "a module of wfss_helpers is missing from API_MODULES here"

    monkeypatch.setattr(extension, "package_modules", lambda: sorted([*on_disk, "spectra"]))
    with pytest.raises(ConfigError, match=r"wfss_helpers\.spectra is not documented.*api/spectra\.md"):
        extension.check_api_modules(toc)
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="missing.*api/extraction/lines"):
        extension.check_api_modules([page for page in toc if page != "api/extraction/lines"])
    swapped = [*toc]
    i, j = swapped.index("api/geometry/trace"), swapped.index("api/extraction/background")
    swapped[i], swapped[j] = swapped[j], swapped[i]
    with pytest.raises(ConfigError, match="in another order"):
        extension.check_api_modules(swapped)


def _notebook_links(html: str, page: str) -> list[str]:
    """The hrefs of a notebook page that point at its .ipynb download."""
    name = Path(page).name
    return re.findall(rf'href="([^"]*_sources/notebooks/{re.escape(name)}\.ipynb)"', html)


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_page_offers_the_ipynb(built_book, page):
    """A link under the title and in the theme's download menu; the file is the executed notebook."""
    import nbformat

    html = (built_book / f"{page}.html").read_text()
    links = _notebook_links(html, page)
    assert len(links) >= 2, f"{page}: expected the .ipynb link under the title and in the download menu, got {links}"
    assert 'class="wfss-download"' in html and "download-notebook-button" in html
    for link in set(links):
        target = (built_book / page).parent / link
        assert target.resolve() == (built_book / "_sources" / f"{page}.ipynb").resolve(), link
    notebook = nbformat.read(built_book / "_sources" / f"{page}.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code), f"{page}: the download is not executed"
    assert "jupytext" not in notebook.metadata, f"{page}: the download keeps jupytext's pairing"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    # The .py source is offered too.
    assert (built_book / "_sources" / f"{page}.py").is_file()


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_page_has_launch_buttons(built_book, page):
    """Binder (JupyterLab) and Colab links to the notebook in the repository of _config.yml."""
    html = (built_book / f"{page}.html").read_text().replace("&amp;", "&")
    binder = f"https://mybinder.org/v2/gh/{REPOSITORY}/main?urlpath=lab/tree/jupyter_book/{page}.py"
    colab = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/jupyter_book/{page}.py"
    assert f'href="{binder}"' in html, f"{page}: no Binder link {binder}"
    assert f'href="{colab}"' in html, f"{page}: no Colab link {colab}"


def test_book_needs_no_network(built_book):
    """MathJax is the local copy, and no page loads a script, style or image from the web."""
    assert (built_book / "_static" / "mathjax" / "es5" / "tex-mml-chtml.js").is_file()
    remote = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)
    for page in built_book.rglob("*.html"):
        match = remote.search(page.read_text())
        assert match is None, f"{page.relative_to(built_book)} loads a remote resource: {match.group(0)}"


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser_executables():
    """Paths of Chromium and its chromedriver; skip (or, in CI, fail) without them."""
    chromium = _find_executable("CHROMIUM", "chromium", "chromium-browser")
    driver = _find_executable("CHROMEDRIVER", "chromedriver")
    if chromium is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None)
        message = f"{missing} not found; install Debian's chromium and chromium-driver (see .ci/run)"
        if _in_ci():
            pytest.fail(f"{message}. CI is set, so this is an error, not a skip.")
        pytest.skip(message)
    return chromium, driver


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def book_url(built_book):
    """The built HTML, served over HTTP on a free loopback port."""
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(browser_executables, tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = browser_executables
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=driver_path, log_output=str(profile.parent / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


# Runs in the page once it has loaded: waits for MathJax's first typeset and for every
# image, then reports what a reader would see.
_INSPECT_PAGE = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const hasMath = document.querySelector('.math') !== null;
  let mathjax = null;
  if (hasMath) {
    for (let i = 0; i < 400 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) await sleep(50);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      await MathJax.startup.promise;
      mathjax = MathJax.version;
    }
  }
  const images = [...document.querySelectorAll('main img')];
  await Promise.all(images.map((img) => img.decode().catch(() => null)));

  const nav = [...document.querySelectorAll('nav.bd-docs-nav a')].map((a) => {
    const box = a.getBoundingClientRect();
    return {text: a.textContent.trim(), href: a.href, visible: box.width > 0 && box.height > 0};
  });
  const article = document.querySelector('article') || document.querySelector('main');
  const prose = article.cloneNode(true);
  prose.querySelectorAll('pre, code, .highlight, .cell_input, .cell_output, mjx-container, script, style')
       .forEach((e) => e.remove());
  done({
    url: location.href,
    title: document.title,
    mathjax: mathjax,
    mathElements: document.querySelectorAll('.math').length,
    mathUnrendered: [...document.querySelectorAll('.math')]
        .filter((e) => !e.querySelector('mjx-container')).map((e) => e.textContent.slice(0, 80)),
    mjxContainers: document.querySelectorAll('mjx-container').length,
    mjxErrors: [...document.querySelectorAll('mjx-merror')].map((e) => e.textContent.slice(0, 80)),
    proseText: prose.textContent,
    nav: nav,
    prevNext: document.querySelectorAll('.prev-next-area a').length,
    images: images.map((img) => ({
      src: img.getAttribute('src'), complete: img.complete,
      naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
      width: img.getBoundingClientRect().width, height: img.getBoundingClientRect().height,
      inOutput: img.closest('.cell_output') !== null,
      inMenu: img.closest('.dropdown-menu') !== null,
    })),
    resources: performance.getEntriesByType('resource').map((e) => e.name),
  });
})().catch((error) => done({error: String(error && error.stack || error)}));
"""

# TeX that MathJax should have replaced: $...$, \(...\), \[...\], and common macros.
_RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\)|\\\[|\\\]|\\(?:mathrm|frac|lambda|text|qquad|le)\b")


def _load(browser, url):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
        and not d.current_url.endswith("/index.html")  # index.html redirects to the root page
    )
    info = browser.execute_async_script(_INSPECT_PAGE)
    assert "error" not in info, f"inspecting {url} failed in the browser: {info.get('error')}"
    info["console"] = browser.get_log("browser")
    return info


def _screenshot(browser, path, *, max_height=12000):
    """A full-page PNG of the current page (the window is made as tall as the page)."""
    width, height = browser.get_window_size()["width"], browser.get_window_size()["height"]
    page_height = browser.execute_script("return document.documentElement.scrollHeight")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        browser.set_window_size(width, min(max(page_height + 200, height), max_height))
        browser.execute_script("window.scrollTo(0, 0)")
        browser.save_screenshot(str(path))
    finally:
        browser.set_window_size(width, height)
    return path


def _check_page(info, base_url, *, needs_math=True):
    page = info["url"]
    # Navigation: the sidebar links to every page of the table of contents, visibly
    # (sections, e.g. the API pages, may be folded under their chapter).
    hrefs = {link["href"].split("#")[0] for link in info["nav"] if link["visible"]}
    all_hrefs = {link["href"].split("#")[0] for link in info["nav"]}
    for docname in TOC_PAGES:
        if docname in TOC_SECTIONS:
            assert base_url + f"{docname}.html" in all_hrefs, f"{page}: no sidebar link to {docname}"
        else:
            assert base_url + f"{docname}.html" in hrefs, f"{page}: no visible sidebar link to {docname}"

    # Math: typeset by the local MathJax, no errors, no TeX left in the prose.
    if needs_math:
        assert info["mathElements"] > 0, f"{page}: no math on the page"
    if info["mathElements"]:
        assert info["mathjax"], f"{page}: MathJax did not load"
        assert info["mjxContainers"] >= info["mathElements"], f"{page}: {info['mjxContainers']} MathJax outputs"
        assert not info["mathUnrendered"], f"{page}: formulas left as TeX: {info['mathUnrendered'][:5]}"
        assert not info["mjxErrors"], f"{page}: MathJax errors: {info['mjxErrors'][:5]}"
    raw = _RAW_TEX.findall(info["proseText"])
    assert not raw, f"{page}: raw TeX in the rendered text: {raw[:10]}"

    # Figures: every image loaded, with a non-zero size.
    for image in info["images"]:
        assert image["complete"] and image["naturalWidth"] > 0 and image["naturalHeight"] > 0, (
            f"{page}: image {image['src']} did not load: {image}"
        )
        # (Icons of the header's dropdown menus, e.g. the launch buttons, show on hover.)
        if not image["inMenu"]:
            assert image["width"] > 0 and image["height"] > 0, f"{page}: image {image['src']} is not displayed"

    # Offline: every request went to the local server, and none failed (bar the favicon).
    foreign = [url for url in info["resources"] if not url.startswith(base_url)]
    assert not foreign, f"{page}: resources from outside the book: {foreign}"
    failed = [
        entry["message"]
        for entry in info["console"]
        if entry["level"] == "SEVERE" and "Failed to load resource" in entry["message"] and "favicon.ico" not in entry["message"]
    ]
    assert not failed, f"{page}: {failed}"


def test_index_in_browser(browser, book_url, pytestconfig):
    info = _load(browser, book_url + "index.html")
    root = TOC_PAGES[0]
    assert info["url"] == book_url + f"{root}.html", f"index.html should lead to the root page, got {info['url']}"
    _check_page(info, book_url)
    for phrase in ("WFSS_TUTORIAL_DATA", "make book"):
        assert phrase in browser.find_element("css selector", "article").text, f"intro page does not mention {phrase}"
    path = _screenshot(browser, SCREENSHOT_DIR / f"{root}.png")
    _report(pytestconfig, f"\nscreenshot of the book's index: {path}")


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_page_in_browser(browser, book_url, pytestconfig, page):
    info = _load(browser, book_url + f"{page}.html")
    _check_page(info, book_url)
    assert info["prevNext"] > 0, f"{page}: no previous/next links"
    figures = [image for image in info["images"] if image["inOutput"]]
    if page in PAGES_WITH_FIGURES:
        assert figures, f"{page}: no figures in the cell outputs"
    path = _screenshot(browser, SCREENSHOT_DIR / f"{page.replace('/', '_')}.png")
    if page == MAIN_SCREENSHOT_PAGE:
        shutil.copyfile(path, SCREENSHOT)
        path = SCREENSHOT
    _report(pytestconfig, f"\nscreenshot of {page} ({len(figures)} figures, {info['mjxContainers']} formulas): {path}")


@pytest.mark.parametrize("page", [p for p in TOC_PAGES[1:] if not p.startswith("notebooks/")])
def test_reference_page_in_browser(browser, book_url, pytestconfig, page):
    """The API, troubleshooting and references pages: navigation, math, no remote resources."""
    info = _load(browser, book_url + f"{page}.html")
    _check_page(info, book_url, needs_math=False)
    if page in API_PAGES or page == "api":
        # On the API pages, every module page is visible in the sidebar.
        visible = {link["href"].split("#")[0] for link in info["nav"] if link["visible"]}
        hidden = [p for p in API_PAGES if book_url + f"{p}.html" not in visible]
        assert not hidden, f"{page}: API pages not visible in the sidebar: {hidden}"
    path = _screenshot(browser, SCREENSHOT_DIR / f"{page.replace('/', '_')}.png")
    _report(pytestconfig, f"\nscreenshot of {page} ({info['mjxContainers']} formulas): {path}")


# --------------------------------------------------------------------------- JupyterLab


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_lab_serves_the_text_notebooks_as_notebooks(tmp_path, pytestconfig):
    """`make lab` starts JupyterLab in notebooks/; the .py files are notebooks there.

    Started headless on loopback with a random token, asked through its REST API, then
    stopped. The user's own Jupyter configuration and settings are kept out of it.
    """
    import json
    import secrets
    import signal
    import urllib.error
    import urllib.request

    make = shutil.which("make")
    if make is None:
        pytest.skip("make not found")
    port, token = _free_port(), secrets.token_hex(16)
    args = (
        f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
        f"--ServerApp.port_retries=0 --IdentityProvider.token={token}"
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    env.pop("PYTHON", None)  # the .venv as it is
    log_path = tmp_path / "lab.log"

    def get(path):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    start = time.perf_counter()
    with log_path.open("w") as log:
        lab = subprocess.Popen(
            [make, "-C", str(ROOT), "lab", f"LAB_ARGS={args}"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        while True:
            try:
                get("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert lab.poll() is None, f"make lab exited ({lab.returncode}):\n{log_path.read_text()[-3000:]}"
                assert time.perf_counter() - start < 180, f"JupyterLab did not start:\n{log_path.read_text()[-3000:]}"
                time.sleep(0.5)
        _report(pytestconfig, f"\nmake lab: JupyterLab answered after {time.perf_counter() - start:.1f} s")
        listing = {item["name"]: item["type"] for item in get("/api/contents")["content"]}
        notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
        assert notebooks and all(listing.get(name) == "notebook" for name in notebooks), listing
        model = get(f"/api/contents/{notebooks[0]}?type=notebook&content=1")
        assert model["type"] == "notebook" and model["format"] == "json"
        cells = model["content"]["cells"]
        assert cells[0]["cell_type"] == "markdown" and cells[0]["source"].startswith("# ")
        assert any(cell["cell_type"] == "code" for cell in cells)
        # A double click opens a .py file with jupytext's notebook view, not the text editor.
        # (make lab sets the default in the virtualenv's JupyterLab overrides.json, which
        # the server merges into the setting's schema defaults; user settings are empty.)
        settings = get("/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
        defaults = settings["schema"]["properties"]["defaultViewers"].get("default", {})
        viewers = {**defaults, **settings["settings"].get("defaultViewers", {})}
        assert viewers.get("python") == "Jupytext Notebook", viewers
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
