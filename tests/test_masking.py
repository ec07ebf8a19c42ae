"Keypoint masking through the real data pipeline."
import dataclasses
from pathlib import Path
import numpy as np, pytest
from mss_pose.readers import read_lsp
from mss_pose.data import PoseDataset, AugConfig, pose_dataloaders
from mss_pose.masking import KeypointMask, set_masking
from mss_pose.model import MSSConfig
from mss_pose.skeleton import LSP

SAMPLE = Path(__file__).resolve().parents[1] / 'mss_pose' / 'sample'


@pytest.fixture(scope='module')
def recs(): return read_lsp(SAMPLE)


def _items(ds, n):
    return [tuple(t.numpy() for t in ds[i]) for i in range(n)]


def test_p0_changes_nothing(recs):
    a = PoseDataset(recs[:6], LSP, 128, train=True, aug=AugConfig(), seed=1)
    b = PoseDataset(recs[:6], LSP, 128, train=True, aug=AugConfig(), item_tfms=[KeypointMask(p=0.)], seed=1)
    for x, y in zip(_items(a, 6), _items(b, 6)):
        for u, v in zip(x, y): np.testing.assert_array_equal(u, v)


def _branches(recs, p, n, epochs=1):
    "Masked samples and occlusions among them, over `epochs` passes of the first `n` records."
    a = PoseDataset(recs[:n], LSP, 128, train=True, aug=AugConfig(), seed=1)
    b = PoseDataset(recs[:n], LSP, 128, train=True, aug=AugConfig(), item_tfms=[KeypointMask(p=p)], seed=1)
    masked = occluded = 0
    for e in range(epochs):
        a.set_epoch(e); b.set_epoch(e)
        for x, y in zip(_items(a, n), _items(b, n)):
            masked += bool((x[0] != y[0]).any()); occluded += bool(((x[2] == 2) & (y[2] == 1)).any())
    return masked, occluded


def test_p1_masks_every_sample(recs):
    masked, occluded = _branches(recs, 1., 10)
    assert masked >= 9                            # a sample with no free spot may be left alone
    assert 0 < occluded < masked


def test_branches_are_balanced_by_a_fair_coin(recs):
    "Balanced: each masked sample occludes with probability 1/2, so occlusions ~ Binomial(n, 1/2), within 3 sd of n/2."
    masked, occluded = _branches(recs, 0.5, 40, epochs=5)
    assert 70 < masked < 130
    assert abs(occluded - masked / 2) <= 1.5 * masked ** 0.5, (occluded, masked)


def test_masking_depends_on_seed_epoch_and_index_only(recs):
    "No state in the transform and no global random: any order, any process, any global seed gives the same masks."
    import random
    ds = PoseDataset(recs[:6], LSP, 128, train=True, aug=AugConfig(), item_tfms=[KeypointMask(p=0.5)], seed=3)
    random.seed(0); np.random.seed(0)
    fwd = _items(ds, 6)
    random.seed(1); np.random.seed(1)
    bwd = [tuple(t.numpy() for t in ds[i]) for i in reversed(range(6))][::-1]
    for x, y in zip(fwd, bwd):
        for u, v in zip(x, y): np.testing.assert_array_equal(u, v)
    ds.set_epoch(1)
    assert any((x[0] != y[0]).any() for x, y in zip(fwd, _items(ds, 6)))


def test_occlusion_marks_joint_occluded_but_keeps_its_label(recs):
    a = PoseDataset(recs[:6], LSP, 128, train=True, aug=AugConfig.none(), seed=1)
    b = PoseDataset(recs[:6], LSP, 128, train=True, aug=AugConfig.none(), item_tfms=[KeypointMask(p=1.)], seed=1)
    occluded = 0
    for (_, k0, v0), (_, k1, v1) in zip(_items(a, 6), _items(b, 6)):
        np.testing.assert_array_equal(k0, k1)
        assert ((v1 > 0) == (v0 > 0)).all()
        occluded += bool(((v0 == 2) & (v1 == 1)).any())
    assert occluded


def test_flipped_images_keep_joint_order(recs):
    flip = dataclasses.replace(AugConfig.none(), flip_p=1.0)
    plain = PoseDataset(recs[:5], LSP, 128, train=True, aug=flip, seed=4)
    masked = PoseDataset(recs[:5], LSP, 128, train=True, aug=flip, item_tfms=[KeypointMask(p=1.)], seed=4)
    unflipped = PoseDataset(recs[:5], LSP, 128, train=False, seed=4)
    for (_, kf, vf), (_, km_, vm), (_, k, v) in zip(_items(plain, 5), _items(masked, 5), _items(unflipped, 5)):
        np.testing.assert_array_equal(kf, km_)
        both = (v > 0) & (vf > 0)
        # after a mirror, each joint sits where its left/right twin sat, mirrored: x' = 127 - x
        np.testing.assert_allclose(kf[both], np.stack([127 - k[LSP.flip_index][both, 0], k[LSP.flip_index][both, 1]], -1), atol=1e-3)


def test_validation_split_is_never_masked(recs):
    a = PoseDataset(recs[:4], LSP, 128, train=False, seed=1)
    b = PoseDataset(recs[:4], LSP, 128, train=False, item_tfms=[KeypointMask(p=1.)], seed=1)
    for x, y in zip(_items(a, 4), _items(b, 4)): np.testing.assert_array_equal(x[0], y[0])


def test_set_masking(recs):
    cfg = MSSConfig.preset('tiny', joint_set='lsp')               # 128 px
    dls = pose_dataloaders(recs[:32], recs[32:], cfg, bs=8, item_tfms=[KeypointMask(p=0.)], num_workers=0)
    assert set_masking(dls, 0.7) == 1 and dls.train.dataset.tfms.fs[0].p == 0.7
    with pytest.raises(ValueError, match='no KeypointMask'):
        set_masking(pose_dataloaders(recs[:32], recs[32:], cfg, bs=8, num_workers=0), 0.5)
