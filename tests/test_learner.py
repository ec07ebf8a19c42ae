"Learner, checkpoints and the command line on the shipped sample."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch
from mss_pose.readers import read_lsp, split_records
from mss_pose.data import pose_dataloaders
from mss_pose.masking import KeypointMask
from mss_pose.model import MSSConfig
from mss_pose.learner import mss_learner, resume, valid_metrics, fit_mss
from mss_pose.skeleton import LSP

SAMPLE = Path(__file__).resolve().parents[1] / 'mss_pose' / 'sample'


@pytest.fixture(scope='module')
def dls():
    trn, val = split_records(read_lsp(SAMPLE), 8)
    cfg = MSSConfig.preset('tiny', joint_set='lsp')               # 128 px, 4 target scales
    return pose_dataloaders(trn, val, cfg, bs=8, seed=0, item_tfms=[KeypointMask(p=0.)], num_workers=0)


def test_fit_validate_resume(dls, tmp_path):
    learn = mss_learner(dls, path=tmp_path)
    assert learn.model.cfg is dls.cfg and learn.loss_func.cfg is dls.cfg and learn.model.cfg.js is LSP   # model and loss from the data's config
    fit_mss(learn, 1, 2e-3, finetune_epochs=1, p=0.5)
    assert torch.load(tmp_path / 'models' / 'last.pth', weights_only=False)['epoch'] == 2
    res = valid_metrics(learn)
    assert set(res) == {'valid_loss', 'pck@0.2'} and 0 <= res['pck@0.2'] <= 1
    l2 = mss_learner(dls, path=tmp_path)
    assert resume(l2) == 2
    for a, b in zip(learn.model.state_dict().values(), l2.model.state_dict().values()): assert torch.equal(a, b)


def test_resume_without_checkpoint(dls, tmp_path):
    with pytest.raises(FileNotFoundError, match='no checkpoint to resume'): resume(mss_learner(dls, path=tmp_path))


def _cli(*args):
    return subprocess.run([sys.executable, '-m', 'mss_pose.cli', *args], capture_output=True, text=True)


def test_cli_help_and_errors(tmp_path):
    r = _cli('--help')
    assert r.returncode == 0 and 'train' in r.stdout and 'predict' in r.stdout
    r = _cli('eval', '--data', str(tmp_path / 'nope'), '--checkpoint', str(tmp_path / 'none.pth'))
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith('mss_pose: error: data not found')
    r = _cli('train', '--preset', 'huge', '--out', str(tmp_path / 'x'))
    assert r.returncode == 2 and "argument --preset: invalid choice: 'huge'" in r.stderr


def test_cli_train_eval_predict(tmp_path):
    r = _cli('train', '--preset', 'tiny', '--epochs', '1', '--bs', '8', '--workers', '0', '--out', str(tmp_path / 'run'))
    assert r.returncode == 0, r.stderr[-2000:]
    ckpt = tmp_path / 'run' / 'mss_pose.pth'
    r = _cli('eval', '--checkpoint', str(ckpt), '--out', str(tmp_path / 'preds.json'))
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'Mean' in r.stdout
    preds = json.loads((tmp_path / 'preds.json').read_text())['predictions']
    assert [p['image'] for p in preds] == [f'im0{n}.jpg' for n in range(7961, 8001)]
    assert all(len(p['joints']) == 14 and len(p['joints'][0]) == 3 for p in preds)
    r = _cli('predict', str(SAMPLE / 'images' / 'im07961.jpg'), '--checkpoint', str(ckpt), '--out', str(tmp_path / 'pics'))
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / 'pics' / 'im07961_pose.png').exists()


def test_cli_kill_and_resume(tmp_path):
    "kill -9 in the middle of a run, then --resume: the run finishes on its own data with one log row per epoch."
    data = tmp_path / 'lsp'; os.symlink(SAMPLE, data)               # not the default data, which --resume once fell back to
    out, args = tmp_path / 'run', ['train', '--data', str(data), '--n-valid', '8', '--preset', 'tiny', '--epochs', '3',
                                   '--finetune-epochs', '1', '--bs', '8', '--workers', '0']
    p = subprocess.Popen([sys.executable, '-m', 'mss_pose.cli', *args, '--out', str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not (out / 'models' / 'last.pth').exists() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.05)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    done = torch.load(out / 'models' / 'last.pth', weights_only=False)['epoch']
    assert 1 <= done < 4 and not (out / 'mss_pose.pth').exists()
    r = _cli(*args, '--out', str(out))                                        # a new run may not overwrite it
    assert r.returncode == 2 and 'pass --resume to continue it' in r.stderr
    r = _cli('train', '--resume', '--n-valid', '9', '--out', str(out))          # other data: refused before any work
    assert r.returncode == 2 and r.stderr == f"mss_pose: error: --resume: the run in {out} trains on --n-valid 8, not 9; leave the flag out\n"
    r = _cli('train', '--resume', '--epochs', '9', '--out', str(out))           # another schedule: refused too
    assert r.returncode == 2 and r.stderr == f"mss_pose: error: --resume: the run in {out} trains with --epochs 3, not 9; leave the flag out\n"
    r = _cli('train', '--resume', '--out', str(out))                            # the recorded data and schedule, --workers 0 included
    assert r.returncode == 0, r.stderr[-2000:]
    assert f'resuming {out} after epoch {done} of 4' in r.stdout
    rows = (out / 'models' / 'history.csv').read_text().splitlines()
    assert rows[0].startswith('epoch') and [r.split(',')[0] for r in rows[1:]] == ['0', '1', '2', '3']
    res = json.loads((out / 'results.json').read_text())
    assert (res['epochs'], res['data'], res['n_train'], res['n_valid']) == (3, str(data), 32, 8) and (out / 'mss_pose.pth').exists()
    r = _cli('train', '--resume', '--out', str(tmp_path / 'none'))
    assert r.returncode == 2 and 'to continue from' in r.stderr
