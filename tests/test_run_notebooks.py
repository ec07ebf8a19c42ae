"tools/run_notebooks.py: what it keeps of a notebook's outputs, without running a kernel."
import base64, importlib.util, io
from pathlib import Path

import nbformat
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location('run_notebooks', ROOT / 'tools' / 'run_notebooks.py')
rn = importlib.util.module_from_spec(spec); spec.loader.exec_module(rn)


def png(a: np.ndarray) -> str:
    buf = io.BytesIO(); Image.fromarray(a).save(buf, format='PNG')
    return base64.b64encode(buf.getvalue()).decode()


def size(b64: str) -> tuple[int, int]: return Image.open(io.BytesIO(base64.b64decode(b64))).size


def test_tidy_outputs():
    plot = np.full((300, 1600, 3), 255, np.uint8); plot[100:200, :, :2] = 0                 # few colours: a plot
    photo = np.asarray(Image.open(ROOT / 'mss_pose' / 'sample' / 'images' / 'im07964.jpg').convert('RGB').resize((1200, 400)))  # a photo
    view = {'application/vnd.jupyter.widget-view+json': {'model_id': 'x', 'version_major': 2, 'version_minor': 0}}
    out = nbformat.v4.new_output
    cell = nbformat.v4.new_code_cell('x', execution_count=3, outputs=[
        out('display_data', data={**view, 'text/plain': 'Output()'}),                            # a bare widget: dropped
        out('display_data', data={**view, 'text/plain': 'VBox()', 'image/png': png(plot)}),     # an explorer: keeps its picture
        out('execute_result', data={'text/plain': 'fig', 'image/png': png(photo)}, execution_count=3),
        out('display_data', data={'text/html': '<div></div>', 'text/plain': ''}),               # a finished progress bar: dropped
        out('display_data', data={'text/html': '<style>progress {}</style>', 'text/plain': ''}),  # a style sheet: dropped
        out('display_data', data={'text/html': '<table><tr><td>1</td></tr></table>', 'text/plain': ''}),   # a table: kept
        out('stream', name='stderr', text='UserWarning: something\n')])
    nb = nbformat.v4.new_notebook(cells=[cell], metadata={'widgets': {'state': {}}})
    problems = rn.tidy_outputs(nb, 800)
    assert problems == ['cell 0: stderr: UserWarning: something']
    assert 'widgets' not in nb.metadata and cell.execution_count is None
    (a, b, t, c) = cell.outputs
    assert list(a.data) == ['text/plain', 'image/png'] and size(a.data['image/png']) == (800, 150)
    assert 'image/png' not in b.data and size(b.data['image/jpeg']) == (800, 267) and b.execution_count is None
    assert t.data['text/html'].startswith('<table>') and c.output_type == 'stream'
