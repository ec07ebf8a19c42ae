"Affine crops, PoseDataset, RenderTargets and the DataLoaders, from outside the package."
import dataclasses, os, pickle, warnings
from pathlib import Path
import cv2
import numpy as np
import pytest
import torch
from fasttransform import ItemTransform
from mss_pose.data import AugConfig, PoseDataLoaders, PoseDataset, RenderTargets, colour_jitter, default_num_workers, pose_dataloaders
from mss_pose.heatmaps import HeatmapCodec
from mss_pose.model import MSSConfig
from mss_pose.images import apply_affine, crop_matrix, invert_affine
from mss_pose.readers import PoseRecord, read_lsp, split_records
from mss_pose.skeleton import LSP
from data_paths import LSPET, need_lspet

ROOT = Path(__file__).parents[1]
SAMPLE = ROOT/'mss_pose'/'sample'
NO_AUG_FLIP = dataclasses.replace(AugConfig.none(), flip_p=1.)
LSP256 = MSSConfig(joint_set='lsp')     # 256 px, depth 4: targets 64, 32, 16, 8


@pytest.fixture(scope='module')
def recs(): return read_lsp(SAMPLE)


def test_affine_known_points_and_inverse():
    M = crop_matrix((100, 50), 200, 256)
    np.testing.assert_allclose(apply_affine(np.array([[100., 50.], [0., -50.]]), M), [[127.5, 127.5], [-0.5, -0.5]])
    np.testing.assert_allclose(apply_affine(np.array([[110., 50.]]), crop_matrix((100, 50), 200, 256, rot=90)), [[127.5, 114.7]])
    np.testing.assert_allclose(apply_affine(np.array([[110., 50.]]), crop_matrix((100, 50), 200, 256, flip=True)), [[114.7, 127.5]])
    M = crop_matrix((12.3, 45.6), 77., 64, rot=33, flip=True, shift=(2, -5))
    k = np.random.default_rng(1).uniform(-50, 150, (3, 14, 2))
    np.testing.assert_allclose(apply_affine(apply_affine(k, M), invert_affine(M)), k, atol=1e-9)
    np.testing.assert_allclose(invert_affine(M), cv2.invertAffineTransform(M), atol=1e-12)


@pytest.mark.parametrize('rot, flip', [(0, False), (40, False), (-25, True)])
def test_affine_matches_warp_affine(rot, flip):
    img = np.zeros((50, 70), np.float32); img[17, 29] = 1.
    M = crop_matrix((30, 20), 12, 48, rot=rot, flip=flip, shift=(1.5, -2))
    w = cv2.warpAffine(img, M, (48, 48), flags=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[:48, :48]
    np.testing.assert_allclose([(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()], apply_affine(np.array([[29., 17.]]), M)[0], atol=0.05)


def test_colour_jitter_identity_and_range():
    bgr = cv2.imread(str(SAMPLE/'images'/'im07970.jpg'))
    np.testing.assert_array_equal(colour_jitter(bgr, AugConfig.none(), np.random.default_rng(0)), bgr[..., ::-1])
    j = colour_jitter(bgr, AugConfig(), np.random.default_rng(0))
    assert j.dtype == np.uint8 and j.shape == bgr.shape and not (j == bgr[..., ::-1]).all()


def test_dataset_item_and_crop_matrix(recs):
    ds = PoseDataset(recs, 'lsp', 128)
    img, kps, vis = ds[3]
    assert (img.shape, img.dtype, kps.shape, kps.dtype, vis.shape, vis.dtype) == ((3, 128, 128), torch.uint8, (14, 2), torch.float32, (14,), torch.uint8)
    np.testing.assert_allclose(kps.numpy(), apply_affine(recs[3].kps, ds.crop_matrix(3)), atol=1e-4)
    assert ((vis > 0).numpy() <= (recs[3].vis > 0)).all()
    back = apply_affine(kps.numpy(), invert_affine(ds.crop_matrix(3)))
    np.testing.assert_allclose(back[vis.numpy() > 0], recs[3].kps[vis.numpy() > 0], atol=1e-3)


def _synthetic(tmp_path):
    "A 100x120 image lit at the right ankle only, whose box is the padded image (crop = image, y + 10)."
    im = np.zeros((100, 120, 3), np.uint8); im[80, 30] = 255
    cv2.imwrite(str(tmp_path/'p.png'), im)
    k = np.tile([[60., 50.]], (14, 1)); k[LSP.index('r_ankle')] = (30, 80); k[LSP.index('l_ankle')] = (85, 78)
    v = np.full(14, 2); v[LSP.index('l_ankle')] = 1
    return PoseRecord(tmp_path/'p.png', k, v, (59.5, 49.5), 120)


def test_flip_swaps_left_and_right(tmp_path):
    rec = _synthetic(tmp_path)
    plain = PoseDataset([rec], 'lsp', 120)[0]
    img, kps, vis = PoseDataset([rec], 'lsp', 120, train=True, aug=NO_AUG_FLIP, seed=0)[0]
    ra, la = LSP.index('r_ankle'), LSP.index('l_ankle')
    assert plain[1][ra].tolist() == [30, 90] and plain[0][0, 90, 30] == 255           # unflipped: identity (+10 px in y)
    assert kps[la].tolist() == [119 - 30, 90]           # l_ankle after the flip = the mirrored original r_ankle
    assert kps[ra].tolist() == [119 - 85, 88]           # r_ankle after the flip = the mirrored original l_ankle
    assert (vis[la], vis[ra]) == (2, 1)
    assert img[0, 90, 89] == 255 and img.sum() == 3 * 255   # the lit pixel moved with the joint now called l_ankle
    for a, b in LSP.flip_pairs:                         # every pair swapped: left joints x == 119 - right joints x before
        assert kps[a, 0] == 119 - plain[1][b, 0] and kps[b, 0] == 119 - plain[1][a, 0]


def test_out_of_crop_joints_get_zero_vis(recs):
    r = recs[0]
    ds = PoseDataset([PoseRecord(r.image, r.kps, r.vis, (r.kps[:, 0].max(), r.kps[:, 1].max()), 30.)], 'lsp', 64)
    _, kps, vis = ds[0]
    outside = ((kps < -0.5) | (kps > 63.5)).any(-1)
    assert outside.any() and (vis[outside] == 0).all() and torch.isfinite(kps).all()


def test_determinism(recs):
    a = PoseDataset(recs, 'lsp', 64, train=True, seed=5)
    b = PoseDataset(recs, 'lsp', 64, train=True, seed=5)
    c = PoseDataset(recs, 'lsp', 64, train=True, seed=6)
    xa, xb, xc = a[7], b[7], c[7]
    assert all(torch.equal(u, v) for u, v in zip(xa, xb))
    assert not torch.equal(xa[1], xc[1])
    assert torch.equal(a[7][1], xa[1])                  # the same (seed, epoch, index): the same crop, whichever worker loads it
    a.set_epoch(1); b.set_epoch(2)
    assert not torch.equal(a[7][1], b[7][1])            # and so does the next epoch


def test_batches_and_targets(recs):
    dls = pose_dataloaders(recs[:32], recs[32:], LSP256, bs=8, num_workers=0, seed=0)
    assert isinstance(dls, PoseDataLoaders) and dls.n_inp == 1 and dls.cfg is LSP256 and dls.cfg.scale_sizes == (64, 32, 16, 8)
    x, kps, w, *hms = b = dls.one_batch()
    assert x.shape == (8, 3, 256, 256) and x.dtype == torch.float32
    assert kps.shape == (8, 14, 2) and w.shape == (8, 14)
    assert [tuple(h.shape) for h in hms] == [(8, 14, s, s) for s in (64, 32, 16, 8)]
    assert set(w.unique().tolist()) <= {0., 1.} and w.sum() > 0
    assert all((h.amax((-2, -1)) > 0.3).float().sum() == w.sum() for h in hms)   # a blob for each weighted joint, none else
    v = dls.valid.one_batch()
    assert v[0].shape == (8, 3, 256, 256)
    assert torch.equal(pose_dataloaders(recs[:32], recs[32:], LSP256, bs=8, num_workers=0, seed=0).one_batch()[1], kps)
    assert torch.equal(dls.valid.one_batch()[1], v[1])  # validation is not augmented
    img = dls.train.after_batch.decode(b)[0]
    assert img.min() >= 0 and img.max() <= 1


def test_learner_split_and_export(recs):
    from fastai.learner import Learner
    cfg = MSSConfig.preset('tiny', joint_set='lsp', in_size=64, ms_scales=3)
    assert (cfg.in_size, cfg.scale_sizes) == (64, (16, 8, 4))
    dls = pose_dataloaders(recs[:16], recs[16:24], cfg, bs=8, num_workers=0)
    b = dls.one_batch()
    learn = Learner(dls, torch.nn.Conv2d(3, 14, 1), loss_func=lambda p, *y: p.mean())
    learn._split(b)
    assert len(learn.xb) == 1 and learn.xb[0] is b[0] and len(learn.yb) == 2 + 3   # kps, weight, 3 scales at 64 px
    e = pickle.loads(pickle.dumps(dls.new_empty()))
    assert type(e) is PoseDataLoaders and len(e.train_ds) == 0 and e.cfg == cfg and e.cfg.scale_sizes == (16, 8, 4) and e.train.bs == 8


def test_render_targets_weight_is_vis_and_inside():
    img = torch.zeros(2, 3, 64, 64, dtype=torch.uint8)
    kps = torch.tensor([[[10., 10.], [70., 5.], [20., 20.]], [[1., 1.], [2., 2.], [3., 3.]]])
    vis = torch.tensor([[2, 2, 0], [1, 2, 2]], dtype=torch.uint8)
    x, k, w, *hms = RenderTargets(HeatmapCodec(64, n_scales=2))((img, kps, vis))
    assert w.tolist() == [[1., 0., 0.], [1., 1., 1.]]
    assert [h.shape[-1] for h in hms] == [16, 8] and hms[0][0, 1:].sum() == 0
    with pytest.raises(ValueError, match=r'expects the collated batch \(img, kps, vis\)'): RenderTargets(HeatmapCodec(64))((img, kps))


def test_item_tfms_run_on_the_right_split(recs):
    class ZeroLastJoint(ItemTransform):
        "Training-only item transform on the numpy tuple."
        split_idx = 0
        def encodes(self, item):
            img, kps, vis = item
            assert isinstance(img, np.ndarray) and img.shape == (64, 64, 3) and kps.shape == (14, 2)
            vis = vis.copy(); vis[-1] = 0
            return img, kps, vis
    trn = PoseDataset(recs[:1], 'lsp', 64, train=True, aug=AugConfig.none(), item_tfms=[ZeroLastJoint()])
    val = PoseDataset(recs[:1], 'lsp', 64, train=False, item_tfms=[ZeroLastJoint()])
    assert trn[0][2][-1] == 0 and val[0][2][-1] == recs[0].vis[-1]
    class Broken(ItemTransform):
        def encodes(self, item): return item[0]
    with pytest.raises(TypeError, match=r'item_tfms must return the item \(img, kps, vis\)'):
        PoseDataset(recs[:1], 'lsp', 64, item_tfms=[Broken()])[0]


def test_corrupt_image_warns_and_skips(tmp_path, recs):
    (tmp_path/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 this is not a jpeg')
    bad = recs[:3] + [PoseRecord(tmp_path/'broken.jpg', recs[3].kps, recs[3].vis)] + recs[4:8]
    with pytest.warns(UserWarning, match=r'broken.jpg: corrupt \(.*\); sample 3 skipped'):
        _, kps, _ = PoseDataset(bad, 'lsp', 64, train=True, aug=AugConfig.none())[3]
    assert torch.equal(kps, PoseDataset(recs[4:5], 'lsp', 64)[0][1])   # train: the next sample instead
    with pytest.warns(UserWarning, match='broken.jpg'):
        img, _, vis = PoseDataset(bad, 'lsp', 64)[3]
    assert img.sum() == 0 and vis.sum() == 0                         # valid: blank, weightless, index kept
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match='could not be read, giving up'):
        PoseDataset(bad[3:4], 'lsp', 64, train=True)[0]
    with pytest.warns(UserWarning, match='missing.jpg: not found; sample 0 skipped'):
        PoseDataset([PoseRecord(tmp_path/'missing.jpg', recs[0].kps, recs[0].vis)] + recs[:2], 'lsp', 64, train=True)[0]
    data = recs[0].image.read_bytes(); (tmp_path/'cut.jpg').write_bytes(data[:len(data) // 2])
    with pytest.warns(UserWarning, match='cut.jpg: truncated; sample 0 skipped'):     # not decoded: no anonymous libjpeg noise
        PoseDataset([PoseRecord(tmp_path/'cut.jpg', recs[0].kps, recs[0].vis)] + recs[:2], 'lsp', 64, train=True)[0]


def test_workers_with_a_corrupt_image(tmp_path, recs, capfd):
    (tmp_path/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 this is not a jpeg')
    bad = recs[:20] + [PoseRecord(tmp_path/'broken.jpg', recs[20].kps, recs[20].vis)] + recs[21:32]
    dls = pose_dataloaders(bad, recs[32:], MSSConfig(joint_set='lsp', in_size=64), bs=8, num_workers=2, seed=0)
    with warnings.catch_warnings():                     # pytest records warnings in-process; let the workers print theirs
        warnings.simplefilter('always')
        warnings.showwarning = lambda msg, cat, *a, **k: os.write(2, f'{cat.__name__}: {msg}\n'.encode())
        batches = list(dls.train)
    assert len(batches) == 4 and all(b[0].shape == (8, 3, 64, 64) for b in batches)
    assert 'broken.jpg: corrupt (' in capfd.readouterr().err


def test_bad_arguments(recs):
    with pytest.raises(ValueError, match="unknown joint set 'h36m'"): PoseDataset(recs, 'h36m')
    with pytest.raises(ValueError, match="records have 'lsp' joints but cfg.joint_set is 'coco'"): pose_dataloaders(recs, recs, MSSConfig(joint_set='coco'))
    with pytest.raises(ValueError, match='need at least bs=16 training records'): pose_dataloaders(recs[:4], recs, LSP256)
    with pytest.raises(ValueError, match=r'MSSConfig.in_size=200 is not divisible by 4 \* 2\*\*depth = 64'): MSSConfig(joint_set='lsp', in_size=200)
    with pytest.raises(ValueError, match='flip_p is a probability'): AugConfig(flip_p=2)
    assert default_num_workers() >= 0


@need_lspet
def test_full_lspet_batch():
    tr, va = split_records(read_lsp(LSPET)[:8000], 1000)
    dls = pose_dataloaders(tr, va, LSP256, bs=4, num_workers=0)
    x, kps, w, *hms = dls.one_batch()
    assert x.shape == (4, 3, 256, 256) and [h.shape[-1] for h in hms] == [64, 32, 16, 8] and (len(dls.train), len(dls.valid)) == (1750, 250)
