"Data-parallel training with 2 CPU processes (gloo) through torchrun and the CLI."
import json, subprocess, sys
import pytest


@pytest.mark.slow
def test_two_process_gloo_training(tmp_path):
    out = tmp_path / 'ddp'
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '-m', 'mss_pose.cli', 'train',
                        '--preset', 'tiny', '--epochs', '2', '--bs', '8', '--workers', '0', '--out', str(out)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / 'mss_pose.pth').exists()
    log = (out / 'models' / 'history.csv').read_text().splitlines()
    assert log[0].startswith('epoch') and len(log) == 3          # one log, written by rank 0 only
    assert json.loads((out / 'models' / 'last.json').read_text())['epoch'] == 2
