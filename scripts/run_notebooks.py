"""Execute every text notebook (jupytext percent format) of a folder, in order.

Usage: ``python scripts/run_notebooks.py notebooks build/notebooks``. Each
``notebooks/NN_name.py`` is run start to end in a fresh kernel; the executed notebook is
written to ``build/notebooks/NN_name.ipynb``. Exits non-zero if any cell fails.
"""

import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient


def main(source="notebooks", target="build/notebooks"):
    # The kernels start in the notebooks' folder: fix a relative cache (or output) folder
    # to this process's current directory first, so that they all use the same one.
    from wfss_helpers.demo.dataset import path_from_environment

    for variable in ("WFSS_HELPERS_CACHE", "WFSS_OUTPUT_DIR"):
        path_from_environment(variable)
    source, target = Path(source), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    paths = sorted(p for p in source.glob("[0-9]*.py"))
    if not paths:
        print(f"No notebooks found in {source}/", file=sys.stderr)
        return 1
    for path in paths:
        start = time.perf_counter()
        notebook = jupytext.read(path)
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(source)}}).execute()
        out = target / (path.stem + ".ipynb")
        nbformat.write(notebook, out)
        print(f"ran {path} in {time.perf_counter() - start:.1f} s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
