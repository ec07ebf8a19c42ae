"Data-parallel training with 2 CPU processes (gloo) through torchrun: the CLI, and what each rank sees and ends with."
import json, math, subprocess, sys
from pathlib import Path
import pytest, torch

SAMPLE = Path(__file__).resolve().parents[1] / 'mss_pose' / 'sample'

PROBE = '''
import json, sys
from pathlib import Path
import torch
from fastai.torch_core import num_distrib, rank_distrib, set_seed
from mss_pose.data import PoseDataset, pose_dataloaders
from mss_pose.learner import distrib_ctx, fit_mss, mss_learner, valid_metrics
from mss_pose.masking import KeypointMask
from mss_pose.model import MSSConfig
from mss_pose.readers import read_lsp, split_records
out, bs, epochs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seen, getitem = {}, PoseDataset.__getitem__
def record(self, i):                                  # the training samples this process loads, per epoch
    if self.train: seen.setdefault(self.epoch, []).append(int(i))
    return getitem(self, i)
PoseDataset.__getitem__ = record
trn, val = split_records(read_lsp(sys.argv[4]), 8)
set_seed(0)
dls = pose_dataloaders(trn, val, MSSConfig.preset('tiny', joint_set='lsp'), bs=bs, seed=0, item_tfms=[KeypointMask(p=0.)], num_workers=0)
learn = mss_learner(dls, path=out / f'rank{rank_distrib()}', amp=None)
with distrib_ctx(learn): fit_mss(learn, epochs, 2e-3)
torch.save(learn.model.state_dict(), out / f'rank{rank_distrib()}.pth')
n_labelled = int(sum((r.vis > 0).sum() for r in val))
res = dict(world=num_distrib() or 1, seen=seen, n_labelled=n_labelled, **valid_metrics(learn))
(out / f'rank{rank_distrib()}.json').write_text(json.dumps(res))
'''


def probe(tmp: Path, nproc: int, bs: int, epochs: int) -> list[dict]:
    "Train with `nproc` processes of batch `bs` each; per rank: world size, samples seen per epoch, final state dict, PCK."
    script = tmp / 'probe.py'; script.write_text(PROBE)
    launch = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(nproc)] if nproc > 1 else [sys.executable]
    r = subprocess.run([*launch, str(script), str(tmp), str(bs), str(epochs), str(SAMPLE)], capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stderr[-3000:]
    return [dict(json.loads((tmp / f'rank{k}.json').read_text()), sd=torch.load(tmp / f'rank{k}.pth')) for k in range(nproc)]


@pytest.mark.slow
def test_two_ranks_split_every_epoch_and_end_identical(tmp_path):
    "World size 2; disjoint halves of each epoch; bit-identical weights; PCK within noise of one process with the same global batch (see 10_learner)."
    (tmp_path / 'ddp').mkdir(); (tmp_path / 'one').mkdir()
    r0, r1 = probe(tmp_path / 'ddp', 2, 8, 6)
    assert r0['world'] == r1['world'] == 2
    for e in r0['seen']:
        a, b = r0['seen'][e], r1['seen'][e]
        assert len(a) == len(b) == 16 and not set(a) & set(b) and sorted(a + b) == list(range(32)), e   # the 32 training records
    assert r0['sd'].keys() == r1['sd'].keys() and all(torch.equal(r0['sd'][k], r1['sd'][k]) for k in r0['sd'])   # one model: batch-norm
                                                                               # statistics too (DDP broadcasts rank 0's at every forward)
    one, = probe(tmp_path / 'one', 1, 16, 6)                                      # the same global batch in one process
    assert one['world'] == 1
    p, n = (r0['pck@0.2'] + one['pck@0.2']) / 2, r0['n_labelled']
    assert abs(r0['pck@0.2'] - one['pck@0.2']) <= 3 * math.sqrt(max(p * (1 - p), 1 / n) / n) * math.sqrt(2), (r0['pck@0.2'], one['pck@0.2'])


@pytest.mark.slow
def test_two_process_gloo_training_through_the_cli(tmp_path):
    out = tmp_path / 'ddp'
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '-m', 'mss_pose.cli', 'train',
                        '--preset', 'tiny', '--epochs', '2', '--bs', '8', '--workers', '0', '--out', str(out)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / 'mss_pose.pth').exists()
    log = (out / 'models' / 'history.csv').read_text().splitlines()
    assert log[0].startswith('epoch') and len(log) == 3          # one log, written by rank 0 only
    assert torch.load(out / 'models' / 'last.pth', weights_only=False)['epoch'] == 2
