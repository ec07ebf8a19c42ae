"The command line fed bad input on purpose: every case ends in one clear line, before any work or with nothing lost."
import json, shutil, subprocess, sys, time, zipfile
from pathlib import Path
import numpy as np
import pytest
import torch
from mss_pose.cli import _PRESETS, parse_overrides, sample_dir
from mss_pose.images import image_size
from mss_pose.inference import save_checkpoint
from mss_pose.model import PRESETS, MSSConfig, MSSNet
from helpers import run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / 'mss_pose' / 'sample'
IMGS = sorted((SAMPLE / 'images').glob('*.jpg'))


def tiny_model(joint_set: str) -> MSSNet:
    torch.manual_seed(0)
    return MSSNet(MSSConfig.preset('tiny', joint_set=joint_set)).eval()


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    "Random tiny checkpoints for the three joint sets."
    d = tmp_path_factory.mktemp('ckpts')
    return {js: save_checkpoint(tiny_model(js), d / f'{js}.pth') for js in ('lsp', 'mpii', 'coco')}


def lsp_folder(d: Path, n: int = 3, labels: bool = True) -> Path:
    "An LSP folder with the first `n` sample images (and their joints)."
    import scipy.io as sio
    (d / 'images').mkdir(parents=True)
    for f in IMGS[:n]: (d / 'images' / f.name).write_bytes(f.read_bytes())
    if labels: sio.savemat(d / 'joints.mat', {'joints': sio.loadmat(SAMPLE / 'joints.mat')['joints'][:, :, :n]})
    return d


def coco_file(d: Path) -> Path:
    "A COCO keypoints file: two people in the first sample image, one in the second."
    people = [(0, [10, 20, 80, 160]), (0, [90, 20, 80, 160]), (1, [30, 30, 100, 200])]
    kps = lambda x, y, w, h: [v for j in range(17) for v in (x + w * (j % 3 + 1) / 4, y + h * (j + 1) / 18, 2)]
    data = dict(images=[dict(id=i, file_name=f.name) for i, f in enumerate(IMGS[:2])],
                annotations=[dict(id=10 + k, image_id=i, bbox=b, num_keypoints=17, iscrowd=0, keypoints=kps(*b)) for k, (i, b) in enumerate(people)])
    (d / 'coco.json').write_text(json.dumps(data))
    return d / 'coco.json'


def mpii_file(d: Path, names) -> Path:
    "An MPII file (HRNet style) with one person per image name."
    person = lambda n: dict(image=n, center=[100., 150.], scale=1.2, joints_vis=[1] * 16,
                            joints=[[60. + 5 * j, 40. + 12 * j] for j in range(16)])
    (d / 'mpii.json').write_text(json.dumps([person(n) for n in names]))
    return d / 'mpii.json'


def preds(path: Path) -> dict:
    return json.loads(Path(path).read_text())


# --- start-up ------------------------------------------------------------------------------------------------------

def test_help_is_fast_and_imports_no_torch():
    t = time.perf_counter()
    r = subprocess.run([sys.executable, '-m', 'mss_pose.cli', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and 'predict' in r.stdout and r.stderr == ''
    assert time.perf_counter() - t < 2
    r = subprocess.run([sys.executable, '-c', 'import sys, mss_pose.cli; assert "torch" not in sys.modules and "numpy" not in sys.modules'])
    assert r.returncode == 0


def test_argument_errors_come_before_torch(tmp_path):
    r = subprocess.run([sys.executable, '-c', 'import sys\nfrom mss_pose.cli import main\ntry: main(sys.argv[1:])\nexcept SystemExit as e: '
                        'assert "torch" not in sys.modules; raise', 'train', '--bs', '0', '--out', str(tmp_path / 'x')], capture_output=True, text=True)
    assert r.returncode == 2 and "argument --bs: expected an integer >= 1, got '0'" in r.stderr and not (tmp_path / 'x').exists()


def test_presets_listed_without_torch_match_the_model():
    assert sorted(_PRESETS) == sorted(PRESETS)


def test_predict_runs_without_fastai_and_without_warnings(ckpts, tmp_path):
    code = (f'import sys\nfrom mss_pose.cli import main\nmain(["predict", {str(IMGS[0])!r}, "--checkpoint", {str(ckpts["lsp"])!r}, '
            f'"--out", {str(tmp_path / "p")!r}])\nassert not any(m.startswith("fastai") for m in sys.modules), "fastai imported"')
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == '', r.stderr


def test_train_prints_no_third_party_warnings(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'mss_pose.cli', 'train', '--preset', 'tiny', '--epochs', '1', '--bs', '8',
                        '--workers', '0', '--aug', 'scale=0.75,2', 'whole_p=0.5', '--out', str(tmp_path / 'run')], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'Warning' not in r.stderr and 'warn' not in r.stderr, r.stderr
    aug = json.loads((tmp_path / 'run' / 'run.json').read_text())['schedule']['aug']     # recorded, so --resume keeps it
    assert (aug['scale'], aug['whole_p'], aug['rot']) == ([0.75, 2.0], 0.5, 30.0)


# --- arguments -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('argv, msg', [
    (['train', '--epochs', '-1'], "argument --epochs: expected an integer >= 0, got '-1'"),
    (['train', '--bs', '0'], "argument --bs: expected an integer >= 1, got '0'"),
    (['eval', '--bs', '0'], "argument --bs: expected an integer >= 1, got '0'"),
    (['train', '--lr', '0'], "argument --lr: expected a finite number > 0, got '0'"),
    (['train', '--lr', 'inf'], "argument --lr: expected a finite number > 0, got 'inf'"),
    (['train', '--seed', '-5'], "argument --seed: expected an integer >= 0 and <= 4294967295, got '-5'"),
    (['train', '--workers', '-2'], "argument --workers: expected an integer >= 0, got '-2'"),
    (['train', '--preset', 'huge'], "argument --preset: invalid choice: 'huge'"),
    (['predict', 'a.jpg', '--box', '1,2,0,4'], "argument --box: x,y,w,h must be [x, y, w, h] in pixels with w, h > 0, got ['1', '2', '0', '4']"),
    (['predict', 'a.jpg', '--box', '1,2,3'], "argument --box: x,y,w,h must be [x, y, w, h]"),
    (['predict', 'a.jpg', '--min-score', '2'], "argument --min-score: expected a finite number >= 0 and <= 1, got '2'"),
    (['eval', '--missing', 'ignore'], "argument --missing: invalid choice: 'ignore'"),
])
def test_bad_arguments(capsys, tmp_path, argv, msg):
    "One line, `mss_pose: error: ...`, not argparse's usage block."
    code, out, err = run(capsys, *argv, '--out', tmp_path / 'out')
    assert code == 2 and err.startswith(f'mss_pose: error: {msg}') and len(err.splitlines()) == 1, err
    assert not (tmp_path / 'out').exists()


def test_nothing_to_train(capsys, tmp_path):
    assert run(capsys, 'train', '--epochs', '0', '--out', tmp_path / 'r') == (
        2, '', 'mss_pose: error: nothing to train: --epochs and --finetune-epochs are both 0\n')
    assert run(capsys, 'train', '--resume', '--out', tmp_path / 'r') == (
        2, '', f"mss_pose: error: --resume: no {tmp_path / 'r' / 'models' / 'last.pth'} to continue from\n")
    assert not (tmp_path / 'r').exists()


def test_resume_reads_the_recorded_data(capsys, tmp_path):
    "An old run.json, which names no data, needs --data; data whose records changed since the run started is refused."
    out = tmp_path / 'r'; (out / 'models').mkdir(parents=True); (out / 'models' / 'last.pth').write_bytes(b'')
    (out / 'run.json').write_text(json.dumps(dict(cfg=MSSConfig.preset('tiny').to_dict(), schedule={}, prior_epochs=0)))
    assert run(capsys, 'train', '--resume', '--out', out) == (2, '', f"mss_pose: error: --resume: {out / 'run.json'} does not say which "
        "data the run trains on; pass its --data (and any --format, --images, --missing, --n-valid, --limit) again\n")
    data = lsp_folder(tmp_path / 'lsp', n=5)
    rec = dict(data=str(data), format='lsp', images=None, missing='raise', n_valid=1, limit=None, records=[3, 1])
    (out / 'run.json').write_text(json.dumps(dict(cfg=MSSConfig.preset('tiny').to_dict(), schedule={}, data=rec, prior_epochs=0)))
    assert run(capsys, 'train', '--resume', '--out', out)[2] == (
        f"mss_pose: error: --resume: {data} now gives [4, 1] training/validation records, but the run started with [3, 1]\n")
    assert run(capsys, 'train', '--resume', '--data', SAMPLE, '--out', out)[2] == (
        f"mss_pose: error: --resume: the run in {out} trains on --data {data}, not {SAMPLE}; leave the flag out\n")
    assert run(capsys, 'train', '--resume', '--n-valid', 1, '--format', 'lsp', '--out', out)[2] == (   # the same flags again: only the
        f"mss_pose: error: --resume: {data} now gives [4, 1] training/validation records, but the run started with [3, 1]\n")  # counts
    rec['data'] = str(tmp_path / 'moved')                            # a folder that moved: the new one is taken, counts checked
    (out / 'run.json').write_text(json.dumps(dict(cfg=MSSConfig.preset('tiny').to_dict(), schedule={}, data=rec, prior_epochs=0)))
    assert run(capsys, 'train', '--resume', '--data', data, '--out', out)[2].endswith("but the run started with [3, 1]\n")

def test_parse_overrides():
    from mss_pose.data import AugConfig
    assert parse_overrides(['in_size=192', 'structure=mean', 'reg_feats=None', 'regression=False'], MSSConfig) == dict(
        in_size=192, structure='mean', reg_feats=None, regression=False)
    assert parse_overrides(['scale=0.75,2'], AugConfig, '--aug') == dict(scale=(0.75, 2)) and parse_overrides(None, MSSConfig) == {}
    with pytest.raises(ValueError, match=r"--set: unknown MSSConfig field\(s\) \['dropout'\]; fields: \['joint_set'"):
        parse_overrides(['dropout=0.1'], MSSConfig)
    with pytest.raises(ValueError, match="--aug expects FIELD=VALUE, got '=2'"): parse_overrides(['=2'], AugConfig, '--aug')


@pytest.mark.parametrize('aug, msg', [(['whole_p=2'], 'whole_p is a probability, got 2'), (['scale=2'], 'AugConfig.scale must be two finite numbers (lo, hi), got 2'),
                                      (['zoom=2'], "--aug: unknown AugConfig field(s) ['zoom']"),
                                      (['scale'], "--aug expects FIELD=VALUE, got 'scale'")])
def test_bad_augmentation_stops_before_any_work(capsys, tmp_path, aug, msg):
    code, out, err = run(capsys, 'train', '--aug', *aug, '--out', tmp_path / 'r')
    assert code == 2 and err.startswith(f'mss_pose: error: {msg}') and not (tmp_path / 'r').exists()


# --- output locations ----------------------------------------------------------------------------------------------

def test_out_checked_before_any_work(capsys, tmp_path, ckpts):
    (tmp_path / 'file').write_text('keep me')
    cases = [(['eval', '--out', tmp_path], f"--out {tmp_path} is a folder; pass a file name, e.g. {tmp_path / 'preds.json'}"),
             (['eval', '--out', tmp_path / 'file' / 'p.json'], f"cannot write {tmp_path / 'file' / 'p.json'}: {tmp_path / 'file'} is a file, not a folder"),
             (['eval', '--out', '/proc/x.json'], 'cannot write /proc/x.json: /proc does not take new files (No such file or directory)'),
             (['predict', IMGS[0], '--out', '/sys/x'], 'cannot write /sys/x: /sys does not take new files (Permission denied)'),
             (['predict', IMGS[0], '--out', tmp_path / 'file'], f"--out {tmp_path / 'file'} is a file, not a folder"),
             (['train', '--out', tmp_path / 'file'], f"--out {tmp_path / 'file'} is a file, not a folder")]
    for argv, msg in cases:
        t = time.perf_counter()
        assert run(capsys, *argv, *([] if argv[0] == 'train' else ['--checkpoint', ckpts['lsp']])) == (2, '', f'mss_pose: error: {msg}\n')
        assert time.perf_counter() - t < 1.5, argv                 # refused at once: no model, no prediction
    assert (tmp_path / 'file').read_text() == 'keep me' and sorted(p.name for p in tmp_path.iterdir()) == ['file']


def test_a_failed_write_keeps_the_old_output(capsys, tmp_path, ckpts, monkeypatch):
    out = tmp_path / 'preds.json'; out.write_text('old')
    def full_disk(self, text, *a, **k):
        with open(self, 'w') as f: f.write(text[:10])
        raise OSError(28, 'No space left on device')
    d = lsp_folder(tmp_path / 'd', 2)
    monkeypatch.setattr(Path, 'write_text', full_disk)
    code, _, err = run(capsys, 'eval', '--data', d, '--checkpoint', ckpts['lsp'], '--out', out)
    assert (code, err) == (2, f'mss_pose: error: No space left on device: {out}\n')
    assert out.read_text() == 'old' and sorted(p.name for p in tmp_path.iterdir()) == ['d', 'preds.json']   # no temporary left


# --- unreadable images ---------------------------------------------------------------------------------------------

def test_eval_skips_unreadable_images(capsys, tmp_path, ckpts):
    d = lsp_folder(tmp_path / 'lsp', 3, labels=False)
    data = IMGS[3].read_bytes(); (d / 'images' / 'cut.jpg').write_bytes(data[:len(data) // 2])
    (d / 'images' / 'text.jpg').write_text('not an image')
    code, out, err = run(capsys, 'eval', '--data', d, '--checkpoint', ckpts['lsp'], '--out', tmp_path / 'p.json')
    assert code == 0 and err == (f"mss_pose: warning: skipping {d / 'images' / 'cut.jpg'}: truncated\n"
                                 f"mss_pose: warning: skipping {d / 'images' / 'text.jpg'}: not an image\n")
    assert f"no labels ({d} has no joints.mat): predicting 5 images, PCK skipped" in out and 'wrote 3 predictions' in out
    p = preds(tmp_path / 'p.json')
    assert [e['image'] for e in p['predictions']] == [f.name for f in IMGS[:3]]
    assert p['skipped'] == [dict(image=str(d / 'images' / 'cut.jpg'), problem='truncated'), dict(image=str(d / 'images' / 'text.jpg'), problem='not an image')]
    code, _, err = run(capsys, 'eval', '--data', d, '--checkpoint', ckpts['lsp'], '--out', tmp_path / 's.json', '--strict')
    assert code == 1 and err.endswith('mss_pose: error: 2 images could not be read (--strict); the output holds the rest\n')
    assert len(preds(tmp_path / 's.json')['predictions']) == 3


def test_eval_with_labels_skips_and_scores_the_rest(capsys, tmp_path, ckpts):
    d = lsp_folder(tmp_path / 'lsp', 3)
    (d / 'images' / IMGS[1].name).write_bytes(IMGS[1].read_bytes()[:2000])
    code, out, err = run(capsys, 'eval', '--data', d, '--checkpoint', ckpts['lsp'], '--out', tmp_path / 'p.json')
    assert code == 0 and err == f"mss_pose: warning: skipping {d / 'images' / IMGS[1].name}: truncated\n"
    assert 'PCK@0.2' in out and [e['image'] for e in preds(tmp_path / 'p.json')['predictions']] == [IMGS[0].name, IMGS[2].name]


def test_nothing_readable(capsys, tmp_path, ckpts):
    (tmp_path / 'a.jpg').write_bytes(b'\xff\xd8\xff\xe0 not a jpeg')
    code, _, err = run(capsys, 'predict', tmp_path / 'a.jpg', tmp_path / 'gone.jpg', '--checkpoint', ckpts['lsp'], '--out', tmp_path / 'o')
    assert code == 2 and err == (f"mss_pose: warning: skipping {tmp_path / 'a.jpg'}: corrupt (Truncated File Read)\n"
                                 f"mss_pose: warning: skipping {tmp_path / 'gone.jpg'}: not found\n"
                                 "mss_pose: error: no image could be read (2 skipped)\n")
    assert not (tmp_path / 'o' / 'predictions.json').exists()


def test_predict_skips_and_keeps_same_named_images_apart(capsys, tmp_path, ckpts):
    for d in ('ca', 'cb'): (tmp_path / d).mkdir(); (tmp_path / d / 'x.jpg').write_bytes(IMGS[0 if d == 'ca' else 1].read_bytes())
    (tmp_path / 'cut.jpg').write_bytes(IMGS[2].read_bytes()[:3000])
    code, out, err = run(capsys, 'predict', tmp_path / 'ca' / 'x.jpg', tmp_path / 'cb' / 'x.jpg', tmp_path / 'cut.jpg',
                         '--checkpoint', ckpts['lsp'], '--out', tmp_path / 'o')
    assert code == 0 and err == f"mss_pose: warning: skipping {tmp_path / 'cut.jpg'}: truncated\n"
    assert sorted(p.name for p in (tmp_path / 'o').iterdir()) == ['ca__x_pose.png', 'cb__x_pose.png', 'predictions.json']
    p = preds(tmp_path / 'o' / 'predictions.json')
    assert [(e['image'], e['picture']) for e in p['predictions']] == [(str(tmp_path / 'ca' / 'x.jpg'), 'ca__x_pose.png'),
                                                                      (str(tmp_path / 'cb' / 'x.jpg'), 'cb__x_pose.png')]
    assert p['skipped'] == [dict(image=str(tmp_path / 'cut.jpg'), problem='truncated')] and 'wrote 2 pictures' in out
    h, w = image_size(tmp_path / 'ca' / 'x.jpg')
    assert image_size(tmp_path / 'o' / 'ca__x_pose.png') == (h, w)


# --- formats -------------------------------------------------------------------------------------------------------

def test_format_is_guessed_and_mismatches_explained(capsys, tmp_path, ckpts):
    f = coco_file(tmp_path)
    code, out, err = run(capsys, 'eval', '--data', f, '--images', SAMPLE / 'images', '--checkpoint', ckpts['coco'], '--out', tmp_path / 'c.json')
    assert code == 0 and err == '', err
    p = preds(tmp_path / 'c.json')['predictions']
    assert [(e['image'], e['person']) for e in p] == [(IMGS[0].name, 0), (IMGS[0].name, 1), (IMGS[1].name, 0)]
    assert [e['box'] for e in p] == [[-30, 20, 160, 160], [50, 20, 160, 160], [-20, 30, 200, 200]]           # square person boxes around the bboxes
    assert run(capsys, 'eval', '--data', SAMPLE, '--format', 'coco', '--checkpoint', ckpts['coco'], '--out', tmp_path / 'x.json') == (
        2, '', f'mss_pose: error: --format coco takes an annotation file (.json or .json.gz), but {SAMPLE} is a folder\n')
    assert run(capsys, 'eval', '--data', f, '--format', 'lsp', '--out', tmp_path / 'x.json') == (
        2, '', f'mss_pose: error: --format lsp takes a folder with joints.mat and images/, but {f} is a file\n')
    (tmp_path / 'notes.txt').write_text('hi')
    assert run(capsys, 'eval', '--data', tmp_path / 'notes.txt', '--out', tmp_path / 'x.json') == (
        2, '', f"mss_pose: error: cannot tell the format of {tmp_path / 'notes.txt'}: expected an LSP folder (joints.mat + images/) "
               "or an MPII/COCO .json(.gz) file; pass --format\n")
    assert not (tmp_path / 'x.json').exists()


def test_mpii_missing_images_flag_and_pckh_title(capsys, tmp_path, ckpts):
    f = mpii_file(tmp_path, [IMGS[0].name, IMGS[1].name, 'gone.jpg'])
    code, _, err = run(capsys, 'eval', '--data', f, '--images', SAMPLE / 'images', '--checkpoint', ckpts['mpii'], '--out', tmp_path / 'm.json')
    assert code == 2 and 'images are missing' in err and 'pass --missing skip (mss_pose)' in err and len(err.splitlines()) == 1
    code, out, err = run(capsys, 'eval', '--data', f, '--images', SAMPLE / 'images', '--missing', 'skip', '--checkpoint', ckpts['mpii'],
                         '--out', tmp_path / 'm.json')
    assert code == 0 and err == '' and 'PCKh@0.5' in out and 'PCK@' not in out
    assert [(e['image'], e['person'], len(e['box'])) for e in preds(tmp_path / 'm.json')['predictions']] == [(IMGS[0].name, 0, 4), (IMGS[1].name, 0, 4)]


def test_eval_without_labels(capsys, tmp_path, ckpts):
    d = lsp_folder(tmp_path / 'imgs', 2, labels=False)
    assert run(capsys, 'eval', '--data', d, '--subset', 'valid', '--checkpoint', ckpts['lsp'], '--out', tmp_path / 'p.json') == (
        2, '', f'mss_pose: error: --subset valid needs labels to split on, and {d} has no joints.mat; leave it out to predict every image\n')
    code, out, _ = run(capsys, 'eval', '--data', d, '--checkpoint', ckpts['lsp'], '--out', tmp_path / 'p.json')
    assert code == 0 and f'no labels ({d} has no joints.mat): predicting 2 images, PCK skipped' in out and 'Mean' not in out


# --- checkpoints ---------------------------------------------------------------------------------------------------

def test_fastai_checkpoints_of_a_run_load(capsys, tmp_path):
    from fastcore.foundation import L
    model = tiny_model('lsp')
    run_dir = tmp_path / 'run'; (run_dir / 'models').mkdir(parents=True)
    torch.save({'model': model.state_dict(), 'opt': {'state': [], 'hypers': L([{'lr': np.float64(1e-3)}])}, 'epoch': 3,
                'smooth_loss': (6, torch.tensor(0.5)), 'best': 0.25}, run_dir / 'models' / 'last.pth')   # last.pth carries the run's state too
    torch.save(model.state_dict(), run_dir / 'models' / 'best.pth')
    d = lsp_folder(tmp_path / 'd', 2)
    for f in ('last', 'best'):
        code, _, err = run(capsys, 'eval', '--data', d, '--checkpoint', run_dir / 'models' / f'{f}.pth', '--out', tmp_path / f'{f}.json')
        assert code == 0 and err == '', err
    assert preds(tmp_path / 'last.json') == preds(tmp_path / 'best.json')


@pytest.mark.parametrize('content, msg', [
    (b'not a checkpoint at all', 'could not read checkpoint {f}: not a torch file, or corrupt or truncated'),
    ('truncated', 'could not read checkpoint {f}: not a torch file, or corrupt or truncated'),
    ('object', "{f} is not an mss_pose checkpoint: it pickles Python objects (mss_pose.config.MSSConfig); expected the OUT/mss_pose.pth of `mss_pose train`"),
    ('keys', "{f} is not an mss_pose checkpoint (it holds keys ['k0', 'k1', 'k10'] ...); expected the OUT/mss_pose.pth of `mss_pose train`"),
])
def test_foreign_checkpoints_in_one_line(capsys, tmp_path, ckpts, content, msg):
    f = tmp_path / 'x.pth'
    if content == 'truncated': f.write_bytes(ckpts['lsp'].read_bytes()[:5000])
    elif content == 'object': torch.save(MSSConfig(), f)
    elif content == 'keys': torch.save({f'k{i}': torch.zeros(1) for i in range(2000)}, f)
    else: f.write_bytes(content)
    code, _, err = run(capsys, 'eval', '--data', lsp_folder(tmp_path / 'd', 1), '--checkpoint', f, '--out', tmp_path / 'p.json')
    assert code == 2 and err.startswith('mss_pose: error: ' + msg.format(f=f)) and len(err.splitlines()) == 1 and len(err) < 300, err
    assert 'weights_only' not in err and not (tmp_path / 'p.json').exists()


# --- person boxes --------------------------------------------------------------------------------------------------

def test_boxes_file(capsys, tmp_path, ckpts):
    boxes = tmp_path / 'boxes.json'
    boxes.write_text(json.dumps({IMGS[0].name: [[0, 0, 100, 150], [100, 0, 100, 150]], str(IMGS[1]): [5, 5, 50, 50]}))
    code, _, err = run(capsys, 'predict', IMGS[0], IMGS[1], '--boxes', boxes, '--checkpoint', ckpts['lsp'], '--out', tmp_path / 'o')
    assert code == 0 and err == ''
    p = preds(tmp_path / 'o' / 'predictions.json')['predictions']
    assert [(e['person'], e['box']) for e in p] == [(0, [0, 0, 100, 150]), (1, [100, 0, 100, 150]), (0, [5, 5, 50, 50])]
    assert p[0]['joints'] != p[1]['joints']
    assert run(capsys, 'predict', IMGS[0], IMGS[2], '--boxes', boxes, '--out', tmp_path / 'o2') == (
        2, '', f"mss_pose: error: --boxes {boxes} has no box for 1 of 2 images, e.g. ['{IMGS[2]}']\n")
    boxes.write_text(json.dumps({IMGS[0].name: [0, 0, -5, 10]}))
    assert run(capsys, 'predict', IMGS[0], '--boxes', boxes, '--out', tmp_path / 'o2') == (
        2, '', f"mss_pose: error: --boxes {boxes}: {IMGS[0]} must be [x, y, w, h] in pixels with w, h > 0, got [0, 0, -5, 10]\n")
    assert not (tmp_path / 'o2').exists()


# --- the installed package -----------------------------------------------------------------------------------------

def test_sample_is_package_data(tmp_path):
    assert sample_dir() == ROOT / 'mss_pose' / 'sample' and len(IMGS) == 40
    src = tmp_path / 'src'                                          # a copy: building writes build/ and *.egg-info next to the sources
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns('.git', '_docs', 'build', 'dist', '*.egg-info', '__pycache__', 'runs'))
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path), str(src)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    names = zipfile.ZipFile(next(tmp_path.glob('mss_pose-*.whl'))).namelist()
    assert {'mss_pose/sample/joints.mat', 'mss_pose/sample/README.md'} <= set(names)
    assert sum(n.startswith('mss_pose/sample/images/') for n in names) == 40


def test_a_refused_run_leaves_no_run_behind(capsys, tmp_path):
    code, out, err = run(capsys, 'train', '--preset', 'tiny', '--bs', '64', '--workers', '0', '--out', tmp_path / 'r')
    assert code == 2 and 'need at least bs=64 training records' in err and not (tmp_path / 'r' / 'run.json').exists()
    code, out, err = run(capsys, 'train', '--preset', 'tiny', '--set', 'person_pad=1.4', '--epochs', '1', '--bs', '8', '--workers', '0',
                         '--set', 'regression=false', '--out', tmp_path / 'r')
    cfg = json.loads((tmp_path / 'r' / 'run.json').read_text())['cfg']
    assert code == 0 and cfg['regression'] is False and cfg['person_pad'] == 1.4   # the retry is a run; both --set groups count
