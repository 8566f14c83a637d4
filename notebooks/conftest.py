"""Let nbval (``pytest --nbval-lax``) run the jupytext text notebooks in this folder.

nbval collects only ``.ipynb`` files. The notebooks' source of truth is the percent-format
``NN_name.py`` file, so this collector reads that with jupytext and hands it to nbval.
"""

import jupytext
import nbval.plugin
import pytest


class _JupytextReader:
    """Stands in for the ``nbformat`` module inside nbval while a text notebook is read."""

    def __init__(self, nbformat_module):
        self._nbformat = nbformat_module

    def read(self, path, as_version=4):
        return jupytext.read(path, as_version=as_version)

    def __getattr__(self, name):
        return getattr(self._nbformat, name)


class TextNotebook(nbval.plugin.IPyNbFile):
    def collect(self):
        real = nbval.plugin.nbformat
        nbval.plugin.nbformat = _JupytextReader(real)
        try:
            yield from super().collect()
        finally:
            nbval.plugin.nbformat = real


def pytest_collect_file(file_path, parent):
    opt = parent.config.option
    if (opt.nbval or opt.nbval_lax) and file_path.suffix == ".py" and file_path.name[:2].isdigit():
        return TextNotebook.from_parent(parent, path=file_path)
    return None
