"Faults and hostile input in training: crashes at every write, kills, two writers, huge worker counts, non-finite numbers, damaged files."
import gzip, json, math, os, re, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pytest, torch
from fastai.callback.core import Callback
from fastai.torch_core import set_seed
import mss_pose.learner as L
from mss_pose.data import pose_dataloaders
from mss_pose.inference import predict_image
from mss_pose.learner import fit_mss, mss_learner, resume
from mss_pose.masking import KeypointMask
from mss_pose.model import MSSConfig, MSSNet
from mss_pose.readers import read_lsp, split_records
from helpers import run

SAMPLE = Path(__file__).resolve().parents[1] / 'mss_pose' / 'sample'
TINY_DATA = ['--limit', '16', '--n-valid', '8', '--bs', '8']                      # 2 batches an epoch: seconds
TINY = ['--preset', 'tiny', *TINY_DATA]


def cli(*argv, **kw):
    return subprocess.run([sys.executable, '-m', 'mss_pose.cli', *map(str, argv)], capture_output=True, text=True, **kw)


def weights(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)['model']


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def history(out: Path) -> list[list[str]]:
    "history.csv without its time column."
    return [r.split(',')[:-1] for r in (out / 'models' / 'history.csv').read_text().splitlines()]


def last_epoch(out: Path) -> int:
    return torch.load(out / 'models' / 'last.pth', weights_only=False)['epoch']


def no_tmp(root: Path) -> bool:
    return not [p for p in root.rglob('*') if p.name.endswith('.tmp')]


def lsp_with(d: Path, joints: np.ndarray | bytes, n: int = 20) -> Path:
    "An LSP folder of the first `n` sample images with these joints (an array, or the raw bytes of joints.mat)."
    import scipy.io as sio
    (d / 'images').mkdir(parents=True)
    for f in sorted((SAMPLE / 'images').glob('*.jpg'))[:n]: (d / 'images' / f.name).symlink_to(f)
    if isinstance(joints, bytes): (d / 'joints.mat').write_bytes(joints)
    else: sio.savemat(d / 'joints.mat', {'joints': joints})
    return d


# --- 3. one commit point: a crash at every write ------------------------------------------------------------------

@pytest.fixture(scope='module')
def dls():
    "One batch of 8 to train, 4 to validate, 64 px crops: an epoch in a fraction of a second."
    trn, val = split_records(read_lsp(SAMPLE), 8)
    return pose_dataloaders(trn[:8], val[:4], MSSConfig.preset('tiny', joint_set='lsp', in_size=64), bs=8, seed=0,
                            item_tfms=[KeypointMask(p=0.)], num_workers=0)


class Killed(BaseException): "A stand-in for kill -9: no handler runs, no `finally` cleans up."


def learner(dls, path, cbs=None):
    set_seed(0)
    return mss_learner(dls, path=path, amp=None, cbs=cbs)


class Epochs(Callback):
    "Counts the epochs a fit trains."
    def __init__(self): self.n = 0
    def after_train(self): self.n += 1


def writes_of_a_run(dls, path, monkeypatch) -> list[str]:
    "The files an uninterrupted 2-epoch run (the second with masking) writes through `_replace`, in order."
    names, real = [], L._replace
    monkeypatch.setattr(L, '_replace', lambda p, w: (names.append(p.name), real(p, w)))
    fit_mss(learner(dls, path), 1, 2e-3, finetune_epochs=1, p=1.)
    monkeypatch.setattr(L, '_replace', real)
    return names


def crash_at(k: int, after: bool):
    "`_replace` that dies at its `k`-th call, with the temporary file written (`after`=False) or just after the rename."
    calls = []
    def replace(path, write):
        tmp = path.with_name(path.name + '.tmp')
        write(tmp)
        if len(calls) == k and not after: raise Killed(f'killed while writing {path.name}')
        os.replace(tmp, path); calls.append(path)
        if len(calls) == k + 1 and after: raise Killed(f'killed after writing {path.name}')
    return replace


def test_a_crash_at_any_write_resumes_without_training_an_epoch_twice_or_skipping_one(dls, tmp_path, monkeypatch):
    ref = tmp_path / 'ref'
    names = writes_of_a_run(dls, ref, monkeypatch)
    assert names.count('last.pth') == 2 and 'best.pth' in names and 'best.json' in names
    for k, name in enumerate(names):
        for after in (False, True):
            out = tmp_path / f'crash{k}{"ab"[after]}'
            monkeypatch.setattr(L, '_replace', crash_at(k, after))
            with pytest.raises(Killed): fit_mss(learner(dls, out), 1, 2e-3, finetune_epochs=1, p=1.)
            monkeypatch.undo()
            committed = names[:k + after].count('last.pth')          # epochs whose last.pth was renamed into place
            l = learner(dls, out, cbs=Epochs())
            done = resume(l) if committed else 0
            assert done == committed, (k, name, after)
            fit_mss(l, 1, 2e-3, finetune_epochs=1, p=1., done=done)
            count = next(cb for cb in l.cbs if isinstance(cb, Epochs)).n
            assert count == 2 - committed, (k, name, after)          # the epochs not yet committed, each once
            assert history(out) == history(ref) and last_epoch(out) == 2, (k, name, after)
            assert same_weights(weights(out / 'models' / 'last.pth'), weights(ref / 'models' / 'last.pth')), (k, name, after)
            assert same_weights(torch.load(out / 'models' / 'best.pth'), torch.load(ref / 'models' / 'best.pth')), (k, name, after)


# --- 6. non-finite loss and weights ------------------------------------------------------------------------------

class Poison(Callback):
    "Sets a weight to NaN before the first batch of epoch `epoch` (`at='batch'`) or after its last step (`at='end'`)."
    def __init__(self, epoch: int, at: str): self.ep, self.at = epoch, at
    def _poison(self):
        w = next(self.model.parameters())
        with torch.no_grad(): w[(0,) * w.ndim] = float('nan')
    def before_batch(self):
        if self.training and self.epoch == self.ep and self.iter == 0 and self.at == 'batch': self._poison()
    def after_train(self):
        if self.epoch == self.ep and self.at == 'end': self._poison()


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(dls, tmp_path):
    l = learner(dls, tmp_path, cbs=Poison(1, 'batch'))
    with pytest.raises(FloatingPointError, match=re.escape(f"the training loss is nan in epoch 2, batch 1: training stopped; {tmp_path / 'models' / 'last.pth'} keeps epoch 1")):
        fit_mss(l, 3, 2e-3)
    assert last_epoch(tmp_path) == 1 and len(history(tmp_path)) == 2
    for f in ('last.pth', 'best.pth'):
        sd = torch.load(tmp_path / 'models' / f, weights_only=False)
        assert all(torch.isfinite(v).all() for v in sd.get('model', sd).values() if v.is_floating_point())


def test_non_finite_weights_are_never_saved(dls, tmp_path):
    l = learner(dls, tmp_path, cbs=Poison(0, 'end'))                 # the last step of epoch 1 leaves a NaN weight
    with pytest.raises(FloatingPointError, match='not saving .*/models/(best|last).pth: 1 weight tensors are NaN or infinite'): fit_mss(l, 2, 2e-3)
    assert not (tmp_path / 'models' / 'best.pth').exists() and not (tmp_path / 'models' / 'last.pth').exists()


def test_lr_inf_and_a_diverging_run_on_the_command_line(capsys, tmp_path):
    assert run(capsys, 'train', '--lr', 'inf', '--out', tmp_path / 'a')[::2] == (2, "mss_pose: error: argument --lr: expected a finite number > 0, got 'inf'\n")
    code, _, err = run(capsys, 'train', *TINY, '--epochs', '2', '--workers', '0', '--lr', '1e30', '--out', tmp_path / 'b')
    assert code == 2 and err.startswith('mss_pose: error: the training loss is nan in epoch 1, batch 2: training stopped; no epoch had finished')
    assert not torch.is_autocast_enabled('cpu')                        # the stop left no bf16 autocast region open behind it
    assert len(err.splitlines()) == 1 and not (tmp_path / 'b' / 'mss_pose.pth').exists() and not (tmp_path / 'b' / 'models' / 'best.pth').exists()


@pytest.mark.parametrize('flag, value, msg', [
    ('--set', 'sigma=1e400', 'MSSConfig.sigma must be a finite number > 0, got inf'),
    ('--set', 'alpha=inf', "MSSConfig.alpha must be a finite number >= 0, got 'inf'"),
    ('--set', 'mask_p=nan', "MSSConfig.mask_p must be a finite number >= 0 and <= 1, got 'nan'"),
    ('--aug', 'rot=1e400', 'AugConfig.rot must be a finite number, got inf'),
])
def test_non_finite_config_values_are_refused(capsys, tmp_path, flag, value, msg):
    assert run(capsys, 'train', *TINY, flag, value, '--out', tmp_path / 'r') == (2, '', f'mss_pose: error: {msg}\n')
    assert not (tmp_path / 'r' / 'run.json').exists()


@pytest.mark.parametrize('field, value', [('sigma', math.inf), ('alpha', math.nan), ('alpha', math.inf), ('mask_p', math.nan)])
def test_non_finite_config_values_in_python(field, value):
    with pytest.raises(ValueError, match=f'MSSConfig.{field} must be a finite number'): MSSConfig(**{field: value})


# --- 4. one writer per run folder ---------------------------------------------------------------------------------

def test_a_second_train_into_a_held_folder_is_refused(capsys, tmp_path):
    "Two real processes: a training run holds OUT; a second train (this one), new or --resume, is refused with its pid; its death frees OUT."
    from mss_pose.cli import _run_lock
    out = tmp_path / 'r'
    p = subprocess.Popen([sys.executable, '-m', 'mss_pose.cli', 'train', *TINY, '--epochs', '100', '--workers', '0', '--out', str(out)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        t0 = time.time()
        while not (out / 'models' / 'last.pth').exists() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.05)
        assert (out / 'train.lock').read_text() == str(p.pid)
        for argv in (['train', *TINY, '--epochs', '1', '--workers', '0'], ['train', '--resume']):
            assert run(capsys, *argv, '--out', out)[::2] == (2, f'mss_pose: error: {out} is in use by another mss_pose train (pid {p.pid})\n')
        assert p.poll() is None                                           # the first run trains on
    finally:
        p.kill(); p.wait()
    with _run_lock(out): pass                                             # the kernel dropped the lock with the process


# --- 5. bounded workers -------------------------------------------------------------------------------------------

def test_workers_are_capped_at_the_cpu_count_without_starting_them(capsys, tmp_path, monkeypatch):
    import mss_pose.data
    seen = []
    def stop(*a, num_workers=None, **k): seen.append(num_workers); raise ValueError('stopped before any worker started')
    monkeypatch.setattr(mss_pose.data, 'pose_dataloaders', stop)
    cpus = len(os.sched_getaffinity(0))
    code, _, err = run(capsys, 'train', *TINY, '--workers', '100000', '--out', tmp_path / 'r')
    assert code == 2 and seen == [cpus]
    assert err == (f'mss_pose: warning: --workers 100000 is more than the {cpus} CPUs this process may use; using {cpus}\n'
                   'mss_pose: error: stopped before any worker started\n')
    run(capsys, 'train', *TINY, '--workers', str(cpus), '--out', tmp_path / 's')
    assert seen[-1] == cpus and 'warning' not in capsys.readouterr().err


# --- 2, 8. resume restores every flag, and ends where an uninterrupted run ends ------------------------------------

FIRST = [*TINY, '--epochs', '2', '--finetune-epochs', '1', '--seed', '7']         # the last epoch with keypoint masking


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    "The reference: FIRST, in the main process (--workers 0), to the end."
    out = tmp_path_factory.mktemp('ref') / 'run'
    r = cli('train', *FIRST, '--workers', '0', '--out', out)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


def test_the_same_command_twice_gives_the_same_weights(uninterrupted, tmp_path):
    "Bit for bit, with DataLoader workers or without."
    r = cli('train', *FIRST, '--workers', '2', '--out', tmp_path / 'again')
    assert r.returncode == 0, r.stderr[-2000:]
    assert same_weights(weights(tmp_path / 'again' / 'mss_pose.pth'), weights(uninterrupted / 'mss_pose.pth'))
    assert history(tmp_path / 'again') == history(uninterrupted)


def test_killed_then_resumed_ends_with_the_weights_of_an_uninterrupted_run(uninterrupted, tmp_path):
    "kill -9 a worker run in epoch 2; `--resume --out` alone, at once, finishes it: weights and log identical."
    out = tmp_path / 'run'
    p = subprocess.Popen([sys.executable, '-m', 'mss_pose.cli', 'train', *FIRST, '--workers', '2', '--out', str(out)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not (out / 'models' / 'last.pth').exists() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert 1 <= last_epoch(out) < 3 and not (out / 'mss_pose.pth').exists()
    r = cli('train', '--resume', '--out', out)                                 # every flag from run.json, --workers 2 included
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((out / 'run.json').read_text())['schedule']['workers'] == 2
    assert same_weights(weights(out / 'mss_pose.pth'), weights(uninterrupted / 'mss_pose.pth'))
    assert history(out) == history(uninterrupted)                              # the smoothed train loss too


def test_resume_refuses_or_honours_every_flag(capsys, uninterrupted, tmp_path):
    import shutil
    out = tmp_path / 'run'; shutil.copytree(uninterrupted, out); (out / 'mss_pose.pth').unlink()   # a run stopped after its last epoch
    for flag, v, was in [('--epochs', 5, 2), ('--finetune-epochs', 0, 1), ('--lr', 0.1, 0.002), ('--seed', 0, 7), ('--bs', 4, 8),
                         ('--pct-start', 0.5, 0.25), ('--amp', 'bf16', 'auto'), ('--preset', 'small', 'tiny'), ('--baseline', None, False)]:
        code, _, err = run(capsys, 'train', '--resume', flag, *([] if v is None else [v]), '--out', out)
        assert (code, err) == (2, f"mss_pose: error: --resume: the run in {out} trains with {flag} {was}, not {True if v is None else v}; leave the flag out\n")
    assert run(capsys, 'train', '--resume', '--set', 'sigma=3', '--out', out)[2] == (
        f"mss_pose: error: --resume: the run in {out} trains with --set sigma=2.0, not sigma=3; leave the flag out\n")
    assert run(capsys, 'train', '--resume', '--aug', 'rot=10', '--out', out)[2] == (
        f"mss_pose: error: --resume: the run in {out} trains with --aug rot=30.0, not rot=10; leave the flag out\n")
    code, stdout, err = run(capsys, 'train', '--resume', '--epochs', 2, '--seed', 7, '--set', 'sigma=2', '--workers', 1, '--out', out)
    assert code == 0 and err == '', err                              # flags that agree, and --workers, which changes no weight
    assert 'mss_pose.pth' in stdout and json.loads((out / 'results.json').read_text())['preset'] == 'tiny'
    code, _, err = run(capsys, 'train', '--resume', '--epochs', 5, '--out', out)
    assert (code, err) == (2, f"mss_pose: error: --resume: the run in {out} has finished ({out / 'mss_pose.pth'}); to train on, "
                              f"start a new run from it: --init {out / 'mss_pose.pth'} --out NEW_FOLDER\n")


def test_init_with_another_preset_is_refused(capsys, uninterrupted, tmp_path):
    ck = uninterrupted / 'mss_pose.pth'
    assert run(capsys, 'train', *TINY_DATA, '--init', ck, '--preset', 'small', '--out', tmp_path / 'r') == (
        2, '', f"mss_pose: error: --preset small: the architecture comes from --init {ck} (preset tiny); leave --preset out\n")
    code, _, err = run(capsys, 'train', *TINY_DATA, '--init', ck, '--epochs', '1', '--workers', '0', '--out', tmp_path / 's')
    assert code == 0 and json.loads((tmp_path / 's' / 'results.json').read_text())['preset'] == 'tiny'   # not the default 'small'


# --- 7. damaged and odd files, one line each ----------------------------------------------------------------------

def test_disk_full_while_saving(capsys, tmp_path, monkeypatch):
    "A failed save of best.pth, and one of mss_pose.pth: one line naming the file, no .tmp left."
    real = torch.save
    def full(name):
        def save(obj, f, *a, **k):
            if Path(f).name == name + '.tmp': Path(f).write_bytes(b'half'); raise RuntimeError('[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file data/3: file write failed')
            return real(obj, f, *a, **k)
        return save
    for name in ('best.pth', 'mss_pose.pth'):
        monkeypatch.setattr(torch, 'save', full(name))
        out = tmp_path / name
        code, _, err = run(capsys, 'train', *TINY, '--epochs', '1', '--workers', '0', '--out', out)
        f = out / 'models' / name if name == 'best.pth' else out / name
        assert code == 2 and err.startswith(f'mss_pose: error: could not write {f}: [enforce fail') and len(err.splitlines()) == 1, err
        assert no_tmp(out) and not f.exists() and not (out / 'results.json').exists()


def test_run_json_and_results_json_are_written_atomically(capsys, tmp_path, monkeypatch):
    real = Path.write_text
    def full(self, text, *a, **k):
        if self.name.startswith('.results.json'): real(self, text[:10]); raise OSError(28, 'No space left on device')
        return real(self, text, *a, **k)
    monkeypatch.setattr(Path, 'write_text', full)
    assert run(capsys, 'train', *TINY, '--epochs', '1', '--workers', '0', '--out', tmp_path / 'r')[::2] == (
        2, f"mss_pose: error: No space left on device: {tmp_path / 'r' / 'results.json'}\n")
    assert not (tmp_path / 'r' / 'results.json').exists() and [p.name for p in (tmp_path / 'r').glob('.*')] == []
    assert json.loads((tmp_path / 'r' / 'run.json').read_text())['schedule']['epochs'] == 1   # whole


@pytest.mark.parametrize('damage', ['truncated', 'empty'])
def test_a_damaged_last_pth_is_named_with_the_way_on(capsys, uninterrupted, tmp_path, damage):
    import shutil
    out = tmp_path / 'run'; shutil.copytree(uninterrupted, out); (out / 'mss_pose.pth').unlink()
    last = out / 'models' / 'last.pth'
    last.write_bytes(last.read_bytes()[:4000] if damage == 'truncated' else b'')
    best = out / 'models' / 'best.pth'
    assert run(capsys, 'train', '--resume', '--out', out) == (2, '', f"mss_pose: error: {last} is damaged (truncated or corrupt), so the run "
                                                                      f"cannot resume; start a new run from {best} (mss_pose train --init {best} --out NEW_FOLDER)\n")


@pytest.mark.parametrize('content', ['', '{"cfg": {"joint_set": "lsp", "n_sta'])
def test_a_damaged_run_json_is_named(capsys, uninterrupted, tmp_path, content):
    import shutil
    out = tmp_path / 'run'; shutil.copytree(uninterrupted, out); (out / 'mss_pose.pth').unlink()
    (out / 'run.json').write_text(content)
    code, _, err = run(capsys, 'train', '--resume', '--out', out)
    assert code == 2 and err.startswith(f"mss_pose: error: --resume: {out / 'run.json'} is damaged (") and err.endswith("so the run's settings are unknown\n")


def test_a_damaged_last_json_of_an_older_run_is_named(dls, tmp_path):
    "Runs from before the epoch count moved into last.pth keep it in last.json."
    l = learner(dls, tmp_path)
    fit_mss(l, 1, 2e-3)
    ck = torch.load(tmp_path / 'models' / 'last.pth', weights_only=False)
    torch.save({'model': ck['model'], 'opt': ck['opt']}, tmp_path / 'models' / 'last.pth')   # the older format
    (tmp_path / 'models' / 'last.json').write_text('{"epoch": 1}')
    assert resume(learner(dls, tmp_path)) == 1
    (tmp_path / 'models' / 'last.json').write_text('')
    with pytest.raises(ValueError, match=f"{tmp_path / 'models' / 'last.json'} is damaged"): resume(learner(dls, tmp_path))


@pytest.mark.parametrize('cmd', ['train', 'eval'])
@pytest.mark.parametrize('content', [b'', b'joints, but as text\n'])
def test_a_joints_mat_that_is_not_a_mat_file(capsys, tmp_path, cmd, content):
    d = lsp_with(tmp_path / 'lsp', content)
    code, _, err = run(capsys, cmd, '--data', d, *(['--out', tmp_path / 'r'] if cmd == 'train' else ['--out', tmp_path / 'p.json']))
    assert code == 2 and err.startswith(f"mss_pose: error: could not read {d / 'joints.mat'} as a .mat file") and len(err.splitlines()) == 1


def test_a_joints_mat_with_no_visible_joint(capsys, tmp_path):
    d = lsp_with(tmp_path / 'lsp', np.ones((14, 3, 20)) * [[1], [1], [0]])
    assert run(capsys, 'train', '--data', d, '--out', tmp_path / 'r') == (
        2, '', f"mss_pose: error: {d / 'joints.mat'}: every visibility flag is 0, so no joint is labelled: nothing to train on or score\n")


def test_n_valid_0(capsys, tmp_path):
    assert run(capsys, 'train', '--n-valid', '0', '--out', tmp_path / 'r') == (2, '', 'mss_pose: error: --n-valid 0 leaves no validation '
        'records, and train keeps the best epoch by validation PCK; hold out at least 1\n')
    assert not (tmp_path / 'r').exists()


@pytest.mark.parametrize('kind', ['truncated', 'not gzip', 'not utf-8'])
def test_annotation_files_that_cannot_be_read(capsys, tmp_path, kind):
    people = json.dumps([dict(image='a.jpg', center=[1, 2], scale=1, joints=[[1, 1]] * 16, joints_vis=[1] * 16)] * 50).encode()
    f = tmp_path / ('mpii.json' if kind == 'not utf-8' else 'mpii.json.gz')
    f.write_bytes({'truncated': gzip.compress(people)[:-20], 'not gzip': people, 'not utf-8': b'[\xff\xfe]'}[kind])
    for cmd in ('train', 'eval'):
        code, _, err = run(capsys, cmd, '--data', f, '--out', tmp_path / ('r' if cmd == 'train' else 'p.json'))
        assert code == 2 and err.startswith(f'mss_pose: error: {f} ') and len(err.splitlines()) == 1, err


def test_a_boxes_file_that_is_not_utf8(capsys, tmp_path):
    f = tmp_path / 'boxes.json'; f.write_bytes(b'{"a.jpg": [1, 2, 3, 4]}\xff')
    code, _, err = run(capsys, 'predict', SAMPLE / 'images' / 'im07961.jpg', '--boxes', f, '--out', tmp_path / 'p')
    assert code == 2 and err.startswith(f'mss_pose: error: --boxes {f} is not valid JSON: ') and len(err.splitlines()) == 1


def test_a_negative_seed(capsys, tmp_path):
    assert run(capsys, 'train', '--seed', '-5', '--out', tmp_path / 'r') == (
        2, '', "mss_pose: error: argument --seed: expected an integer >= 0 and <= 4294967295, got '-5'\n")
    assert not (tmp_path / 'r').exists()


@pytest.mark.parametrize('box', [(float('nan'), 10, 50), (10, 10, float('inf')), (10, float('-inf'), 50)])
def test_predict_image_refuses_non_finite_boxes(box):
    m = MSSNet(MSSConfig.preset('tiny', joint_set='lsp')).eval()
    with pytest.raises(ValueError, match=r'box must be \(cx, cy, side\) with finite numbers and side > 0'):
        predict_image(m, np.zeros((64, 64, 3), np.uint8), box=box)


def test_predict_image_refuses_an_empty_image():
    m = MSSNet(MSSConfig.preset('tiny', joint_set='lsp')).eval()
    with pytest.raises(ValueError, match=r'expected a non-empty \(H, W, 3\) uint8 RGB image, got uint8 of shape \(0, 0, 3\)'): predict_image(m, np.zeros((0, 0, 3), np.uint8))
