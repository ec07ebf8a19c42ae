"""Notebooks as JupyterLab saves them after a session: every explorer output keeps a PNG beside its widget view; with
the README's set-up (nbdev's save hook, `jupyter_hooks = true`, and `mss_pose.save_hook`) a saved notebook differs from
the committed one only in its outputs, and keeps the pictures without the widget views."""
import base64, shutil
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WIDGET = 'application/vnd.jupyter.widget-view+json'


def run_and_save(nb, path: Path, cwd: Path):
    "Execute `nb` in a fresh kernel as Run All does, write it with every output (widget views too) as JupyterLab does, read it back."
    NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(cwd)}}).execute()
    nb.metadata.kernelspec.display_name = 'Python 3 (ipykernel)'          # what JupyterLab writes
    for c in nb.cells:
        if c.cell_type == 'code': c.metadata.update(trusted=True, scrolled=True)   # cell metadata JupyterLab adds
    nbformat.write(nb, path)
    return nbformat.read(path, as_version=4)


def widget_outputs(nb) -> list[dict]:
    return [o for c in nb.cells for o in c.get('outputs', []) if WIDGET in o.get('data', {})]


def assert_pictures(nb):
    "Every widget output carries a PNG, so a page without the widget's state (GitHub, a reopened notebook) shows a picture."
    for o in widget_outputs(nb):
        assert 'image/png' in o['data'], o['data'].get('text/plain')
        assert base64.b64decode(o['data']['image/png'])[:8] == b'\x89PNG\r\n\x1a\n'


def test_explorers_leave_a_picture_after_a_save(tmp_path):
    src = [
        "import torch\nfrom mss_pose.model import MSSConfig, MSSNet\nfrom mss_pose.readers import read_lsp\n"
        "from mss_pose.skeleton import LSP\nfrom mss_pose.explorers import HeatmapExplorer, HeatmapMonitor, LossExplorer\n"
        f"torch.manual_seed(0)\ncfg = MSSConfig.preset('tiny', joint_set='lsp', in_size=64)\nrecs = read_lsp({str(ROOT/'mss_pose'/'sample')!r})",
        "HeatmapExplorer(MSSNet(cfg).eval(), recs[:2])",
        "le = LossExplorer(LSP, dx=3.)\nle.dy.value = 2.\nle",                       # moved before it is displayed
        "display(LossExplorer(LSP, joint='neck'))",
        "from fastai.learner import Learner\nfrom mss_pose.data import pose_dataloaders\nfrom mss_pose.loss import MSSLoss\n"
        "mon = HeatmapMonitor(recs[6].image, show=True)\n"
        "learn = Learner(pose_dataloaders(recs[:2], recs[2:4], cfg, bs=2, num_workers=0), MSSNet(cfg), loss_func=MSSLoss(cfg), cbs=mon)\n"
        "with learn.no_logging(): learn.fit(1, 1e-3)",
    ]
    nb = run_and_save(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in src],
                                               metadata={'kernelspec': {'name': 'python3', 'display_name': 'python3', 'language': 'python'}}),
                      tmp_path/'session.ipynb', tmp_path)
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == 'error']
    assert not errors, errors[0].get('evalue')
    assert len(widget_outputs(nb)) == 3                                        # the three explorers, nothing else
    assert_pictures(nb)
    monitor = nb.cells[-1].outputs                                              # the monitor's live view: a plain picture
    assert [o.output_type for o in monitor] == ['display_data'] and 'image/png' in monitor[0].data and WIDGET not in monitor[0].data


def without_outputs(nb) -> dict:
    "The notebook minus its outputs: sources, cell ids and metadata, notebook metadata, execution counts."
    nb = nbformat.from_dict(nb)
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs = []
    return nb


def saved_through_jupyter(name: str, tmp_path: Path, monkeypatch, hooks: bool = True):
    """Run `nbs/NAME` as a JupyterLab session does, then save it through Jupyter's contents manager with the README's
    set-up: nbdev's `clean_jupyter` as the pre-save hook (`nbdev-install-hooks`) and `mss_pose.save_hook` (the server
    extension), in a copy of the checkout; the file as written."""
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from nbdev.clean import clean_jupyter
    from mss_pose.save_hook import _load_jupyter_server_extension
    monkeypatch.setenv('JUPYTER_DATA_DIR', str(tmp_path/'jupyter'))             # notebook signatures: not in ~
    monkeypatch.chdir(tmp_path)                                                  # `jupyter lab` started in the checkout
    (tmp_path/'nbs').mkdir()
    cfg = (ROOT/'pyproject.toml').read_text()
    assert 'jupyter_hooks = true' in cfg
    (tmp_path/'pyproject.toml').write_text(cfg if hooks else cfg.replace('jupyter_hooks = true', 'jupyter_hooks = false'))
    path = tmp_path/'nbs'/name
    shutil.copy(ROOT/'nbs'/name, path)                                           # on disk: the committed notebook
    nb = run_and_save(nbformat.read(path, as_version=4), tmp_path/'session.ipynb', ROOT/'nbs')
    assert_pictures(nb)
    cm = FileContentsManager(root_dir=str(tmp_path))
    cm.pre_save_hook = clean_jupyter
    _load_jupyter_server_extension(SimpleNamespace(contents_manager=cm))
    for _ in range(2): cm.save({'type': 'notebook', 'content': nb}, f'nbs/{name}')   # an autosave, then Ctrl+S
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize('name', ['00_skeleton.ipynb', pytest.param('13a_explorers.ipynb', marks=pytest.mark.slow)])
def test_a_saved_notebook_differs_only_in_outputs(name, tmp_path, monkeypatch):
    committed = nbformat.read(ROOT/'nbs'/name, as_version=4)
    saved = saved_through_jupyter(name, tmp_path, monkeypatch)
    assert without_outputs(saved) == without_outputs(committed)
    assert not widget_outputs(saved)                                             # pictures only: nothing to fail on reopening


def test_without_the_hooks_a_save_changes_more_than_outputs(tmp_path, monkeypatch):
    committed = nbformat.read(ROOT/'nbs'/'00_skeleton.ipynb', as_version=4)
    saved = saved_through_jupyter('00_skeleton.ipynb', tmp_path, monkeypatch, hooks=False)
    assert without_outputs(saved) != without_outputs(committed)                  # execution counts, kernelspec, cell metadata
