"What `mss_pose eval` and `predict` import: neither fastai (2 s of start-up) nor matplotlib, unless a picture is drawn."
import json, shutil, subprocess, sys
from pathlib import Path

import scipy.io as sio

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / 'mss_pose' / 'sample'

# Runs in a fresh interpreter: after each command, the heavy packages loaded so far.
CODE = '''
import json, sys
import mss_pose.cli as cli
heavy = lambda: sorted(m for m in ('fastai', 'matplotlib') if m in sys.modules)
seen = {}
data, out = sys.argv[1:3]
for name, argv in [('eval labelled', ['eval', '--data', data + '/labelled', '--out', out + '/a.json']),
                   ('eval unlabelled', ['eval', '--data', data + '/images_only', '--out', out + '/b.json']),
                   ('predict', ['predict', data + '/images_only/images/' + sys.argv[3], '--out', out + '/pics'])]:
    cli.main(argv); seen[name] = heavy()
print(json.dumps(seen))
'''


def lsp_folder(dst: Path, n: int, labels: bool) -> Path:
    "An LSP folder of the sample's first `n` images, with their `joints.mat` (14, 3, n) when `labels`."
    (dst / 'images').mkdir(parents=True)
    imgs = sorted((SAMPLE / 'images').glob('*.jpg'))[:n]
    for f in imgs: shutil.copy(f, dst / 'images' / f.name)
    if labels: sio.savemat(dst / 'joints.mat', {'joints': sio.loadmat(SAMPLE / 'joints.mat')['joints'][..., :n]})
    return dst


def test_eval_and_predict_import_neither_fastai_nor_matplotlib(tmp_path):
    lsp_folder(tmp_path / 'data' / 'labelled', 2, labels=True)
    img = lsp_folder(tmp_path / 'data' / 'images_only', 1, labels=False)
    r = subprocess.run([sys.executable, '-c', CODE, str(tmp_path / 'data'), str(tmp_path / 'out'), next((img / 'images').iterdir()).name],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'PCK@0.2' in r.stdout, r.stdout                              # the labelled eval printed its tables
    seen = json.loads(r.stdout.splitlines()[-1])
    assert seen['eval labelled'] == [], f"eval with labels imported {seen['eval labelled']}"
    assert seen['eval unlabelled'] == [], f"eval without labels imported {seen['eval unlabelled']}"
    assert seen['predict'] == ['matplotlib'], f"predict imported {seen['predict']}"   # matplotlib only to draw its pictures
