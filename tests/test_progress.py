"The progress bar of `mss_pose eval`/`predict`: drawn on stderr when it is a terminal, and nowhere otherwise."
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mss_pose
from mss_pose.cli import _progress, main
from mss_pose.inference import save_checkpoint
from mss_pose.model import MSSConfig, MSSNet

IMAGES = sorted((Path(mss_pose.__file__).parent / 'sample' / 'images').glob('*.jpg'))[:3]


class FakeTTY(io.StringIO):
    def isatty(self): return True


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    return save_checkpoint(MSSNet(MSSConfig.preset('tiny', joint_set='lsp', in_size=64)), tmp_path_factory.mktemp('p') / 'tiny.pth')


def test_progress_draws_only_on_a_terminal():
    quiet, tty = io.StringIO(), FakeTTY()
    assert list(_progress([1, 2, 3], [64, 64, 10], quiet)) == list(_progress([1, 2, 3], [64, 64, 10], tty)) == [1, 2, 3]
    assert quiet.getvalue() == ''
    lines = tty.getvalue().split('\r')[1:]
    assert [l.split('] ')[1].split(' images')[0] for l in lines] == ['0/138', '64/138', '128/138', '138/138']
    assert lines[0].startswith('[' + '-' * 30 + ']') and lines[-1].startswith('[' + '#' * 30 + ']')
    assert all('left' in l for l in lines[1:3]) and tty.getvalue().endswith('\n')


def test_progress_ends_its_line_when_the_work_fails():
    tty = FakeTTY()
    with pytest.raises(RuntimeError):
        for _ in _progress([1, 2], [1, 1], tty): raise RuntimeError('boom')
    assert tty.getvalue().endswith('\n')


def test_eval_on_a_terminal_draws_on_stderr_only(capsys, monkeypatch, ckpt, tmp_path):
    monkeypatch.setattr(sys, 'stderr', FakeTTY())
    data = tmp_path / 'imgs'; data.mkdir()
    for f in IMAGES: (data / f.name).write_bytes(f.read_bytes())
    assert main(['eval', '--data', str(data), '--checkpoint', str(ckpt), '--out', str(tmp_path / 'p.json')]) == 0
    out, err = capsys.readouterr()
    assert '\r' not in out and '[' not in out
    assert sys.stderr.getvalue().split('\r')[-1].startswith('[' + '#' * 30 + '] 3/3 images')


def test_eval_redirected_stays_clean(ckpt, tmp_path):
    "`mss_pose eval ... > out.txt 2> err.txt`: no bar in either file."
    with open(tmp_path / 'out.txt', 'w') as o, open(tmp_path / 'err.txt', 'w') as e:
        r = subprocess.run([sys.executable, '-m', 'mss_pose.cli', 'predict', *map(str, IMAGES), '--checkpoint', str(ckpt),
                            '--out', str(tmp_path / 'pics')], stdout=o, stderr=e, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    out, err = (tmp_path / 'out.txt').read_text(), (tmp_path / 'err.txt').read_text()
    assert (r.returncode, err) == (0, '') and out == f"wrote 3 pictures and predictions.json to {tmp_path / 'pics'}\n"
