"Tests of mss_pose.inference from outside: checkpoints, the flip test, and keypoints back in original image pixels."
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from mss_pose.heatmaps import render_heatmaps
from mss_pose.inference import (MissingWeightsError, crop_image, flip_heatmaps, load_image, load_model, normalise_crops,
                                predict_crops, predict_image, predict_paths, read_checkpoint, save_checkpoint,
                                shipped_checkpoint)
from mss_pose.model import MSSConfig, MSSNet, MSSOutput
from mss_pose.readers import read_lsp
from mss_pose.skeleton import LSP, JointSet

SAMPLE = Path(__file__).parent.parent/'mss_pose'/'sample'
TWO = JointSet('two', ('a', 'b'), (), ((0, 1),), (0, 1))


@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    cfg = MSSConfig.preset('tiny', joint_set='lsp', in_size=64)
    return MSSNet(cfg).eval(), cfg


@pytest.fixture
def ckpt(tiny, tmp_path):
    model, cfg = tiny
    return save_checkpoint(model, tmp_path/'sub'/'tiny.pth', meta={'note': 'random init'})


class FixedStub(nn.Module):
    "A Gaussian per joint at fixed heatmap positions, whatever the image."
    def __init__(self, hm_kps):
        super().__init__()
        self.hm_kps = torch.as_tensor(hm_kps, dtype=torch.float32)
        self.cfg = MSSConfig.preset('tiny', joint_set=TWO)            # what prediction reads: joint set, in_size 128, no person_pad

    def forward(self, x):
        B, J = x.shape[0], len(self.hm_kps)
        hm, _ = render_heatmaps(self.hm_kps.expand(B, -1, -1), torch.ones(B, J), x.shape[-1] // 4)
        return MSSOutput([hm, [hm[:, None]]])


# --- checkpoints ---------------------------------------------------------------------------------------------------

def test_checkpoint_round_trip(tiny, ckpt):
    model, cfg = tiny
    m = load_model(ckpt, 'cpu')
    assert (m.cfg, m.cfg.js, m.training) == (cfg, LSP, False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad(): assert torch.equal(m(x).final, model(x).final)
    ck = torch.load(ckpt, weights_only=True)
    assert sorted(ck) == ['cfg', 'meta', 'model'] and ck['cfg'] == cfg.to_dict() and ck['cfg']['joint_set'] == 'lsp'
    r = read_checkpoint(ckpt)
    assert sorted(r) == ['cfg', 'meta', 'model', 'path'] and r['cfg'] == cfg and r['cfg'].js is LSP
    assert r['meta']['note'] == 'random init'
    assert not ckpt.with_name(ckpt.name + '.tmp').exists()


def test_checkpoint_of_wrapped_model(tiny, tmp_path):
    model, cfg = tiny
    p = save_checkpoint(nn.DataParallel(model), tmp_path/'dp.pth')
    assert not any(k.startswith('module.') for k in torch.load(p, weights_only=True)['model'])
    assert load_model(p, 'cpu').cfg == cfg
    img = np.random.default_rng(0).integers(0, 255, (80, 60, 3), np.uint8)
    np.testing.assert_array_equal(predict_image(nn.DataParallel(model).eval(), img)['kps'], predict_image(model, img)['kps'])
    with pytest.raises(TypeError, match='Conv2d has no MSSConfig `cfg`'): predict_image(nn.Conv2d(3, 14, 1), img)


def test_checkpoint_of_a_joint_set_of_your_own(tmp_path):
    model = MSSNet(MSSConfig.preset('tiny', joint_set=TWO, in_size=64))
    assert load_model(save_checkpoint(model, tmp_path/'two.pth'), 'cpu').cfg.js == TWO      # stored whole, not by name


def test_checkpoint_errors(tiny, ckpt, tmp_path):
    model, cfg = tiny
    with pytest.raises(FileNotFoundError, match='no checkpoint file at'): load_model(tmp_path/'nope.pth')
    bad = tmp_path/'truncated.pth'
    bad.write_bytes(ckpt.read_bytes()[:500])
    with pytest.raises(ValueError, match='could not read checkpoint .*truncated.pth'): load_model(bad)
    ck = torch.load(ckpt, weights_only=True)
    old_cfg = {k: v for k, v in ck['cfg'].items() if k != 'joint_set'} | {'n_joints': 14}   # the format before joint_set joined the config
    torch.save({**ck, 'cfg': old_cfg, 'joint_set': 'lsp'}, tmp_path/'old.pth')
    assert load_model(tmp_path/'old.pth', 'cpu').cfg == cfg                                 # still loads
    torch.save({**ck, 'cfg': old_cfg, 'joint_set': 'mpii'}, tmp_path/'mpii.pth')
    with pytest.raises(ValueError, match="mpii.pth: config has n_joints=14, but joint set 'mpii' has 16 joints"):
        load_model(tmp_path/'mpii.pth')
    torch.save({**ck, 'cfg': {**ck['cfg'], 'dropout': 0.1}}, tmp_path/'newer.pth')
    with pytest.raises(ValueError, match=r"newer.pth: unknown MSSConfig field\(s\) \['dropout'\]"): load_model(tmp_path/'newer.pth')
    torch.save({**ck, 'cfg': {**ck['cfg'], 'joint_set': 'mpii'}}, tmp_path/'heads.pth')
    with pytest.raises(ValueError, match='checkpoint has 14 joints, model has 16 joints'): load_model(tmp_path/'heads.pth')
    torch.save(ck['model'], tmp_path/'bare.pth')                   # like fastai's best.pth: the config comes from the shapes
    assert load_model(tmp_path/'bare.pth').cfg == MSSConfig.preset('tiny', joint_set='lsp')   # and the preset's input size
    torch.save({'weights': ck['model']}, tmp_path/'other.pth')
    with pytest.raises(ValueError, match=r"other.pth is not an mss_pose checkpoint \(it holds keys \['weights'\]\); expected"):
        load_model(tmp_path/'other.pth')


def test_shipped_checkpoint():
    assert shipped_checkpoint().parts[-3:] == ('mss_pose', 'weights', 'mss_small_lsp.pth')
    if shipped_checkpoint().is_file():
        m = load_model(device='cpu')
        assert m.cfg.js.name == 'lsp' and not m.training
    else:
        with pytest.raises(MissingWeightsError, match='the shipped checkpoint .* is missing'): load_model()
        assert issubclass(MissingWeightsError, FileNotFoundError)


# --- flip test -----------------------------------------------------------------------------------------------------

def test_flip_test_is_mirror_symmetric_for_any_model(tiny):
    model, _ = tiny
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        a, b = flip_heatmaps(model, x, LSP.flip_index), flip_heatmaps(model, x.flip(-1), LSP.flip_index)
        plain = model(x)
    assert torch.allclose(b.final, a.final.flip(-1)[:, LSP.flip_index], atol=1e-5)
    assert all(torch.allclose(h, p, atol=1e-5) for h, p in zip(a.hms, plain.hms))   # intermediate maps: unflipped pass


def test_flip_test_of_a_symmetric_model():
    "A model that sees a left joint only in the left half (right joints in the right half) is flip-equivariant."
    class Halves(nn.Module):
        cfg = MSSConfig.preset('tiny', joint_set='lsp', in_size=64)        # its joint set says which joints swap
        def forward(self, x):
            g = F.avg_pool2d(x.mean(1, keepdim=True), 4)[:, 0].exp()
            w = g.shape[-1]
            left = (torch.arange(w) < w // 2).float()
            side = torch.ones(LSP.J, w)
            for a, b in LSP.flip_pairs: side[a], side[b] = left, 1 - left
            hm = g[:, None] * side[None, :, None, :]
            return MSSOutput([hm, [hm[:, None]]])
    x = torch.randn(3, 3, 64, 64)
    k, s, out = predict_crops(Halves(), x, flip=True)
    kf, sf, _ = predict_crops(Halves(), x.flip(-1), flip=True)
    mirrored = torch.stack([63 - k[..., 0], k[..., 1]], -1)[:, LSP.flip_index]
    assert torch.allclose(kf, mirrored, atol=1e-3) and torch.allclose(sf, s[:, LSP.flip_index], atol=1e-5)
    assert torch.allclose(out.final, Halves()(x).final, atol=1e-5)


# --- decoding to original pixels -----------------------------------------------------------------------------------

def test_predict_crops_shapes_and_mode(tiny):
    model, _ = tiny
    x = torch.randn(3, 3, 64, 64)
    model.train()
    try: k, s, out = predict_crops(model, x)
    finally: assert model.training; model.eval()
    assert k.shape == (3, 14, 2) and s.shape == (3, 14) and out.final.dtype == torch.float32
    assert torch.isfinite(k).all() and ((k >= -0.5) & (k <= 63.5)).all()


@pytest.mark.parametrize('box, in_size, hm_kps, expected', [
    ((100., 80., 120.), 128, [[15.5, 15.5], [7.5, 23.5]], [[100., 80.], [70., 110.]]),     # 1 input px = 120/128 px
    ((40., 200., 64.), 128, [[15.5, 15.5], [23.5, 7.5]], [[40., 200.], [56., 184.]]),      # 1 input px = 0.5 px
    (None, 128, [[15.5, 15.5], [7.5, 15.5]], [[29.5, 49.5], [4.5, 49.5]]),                 # whole image, 100 px square
    (None, None, [[15.5, 15.5], [7.5, 15.5]], [[29.5, 49.5], [4.5, 49.5]]),                # in_size from the model's cfg (128)
])
def test_mapping_back_to_original_pixels(box, in_size, hm_kps, expected):
    img = np.zeros((100, 60, 3), np.uint8) if box is None else np.zeros((300, 200, 3), np.uint8)
    r = predict_image(FixedStub(hm_kps), img, box=box, in_size=in_size, flip=False)
    np.testing.assert_allclose(r['kps'], expected, atol=0.1)
    np.testing.assert_allclose(cv2.transform(r['kps'][None].astype(np.float64), r['M'])[0], r['kps_crop'], atol=1e-3)
    assert r['crop'].shape == (in_size or 128, in_size or 128, 3) and r['M'].shape == (2, 3)


def test_bright_spot_found_in_original_pixels():
    "End to end through real pixels: a Gaussian spot comes back where it was drawn."
    from mss_pose.data import IMAGENET_MEAN, IMAGENET_STD
    class Bright(nn.Module):
        cfg = MSSConfig.preset('tiny', joint_set=TWO)
        def forward(self, x):
            img = x * x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1) + x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
            hm = F.avg_pool2d(img.mean(1, keepdim=True), 4).expand(-1, 2, -1, -1)
            return MSSOutput([hm, [hm[:, None]]])
    yy, xx = np.mgrid[:300, :260]
    img = np.repeat((255 * np.exp(-((xx - 91.7) ** 2 + (yy - 203.2) ** 2) / 200.)).astype(np.uint8)[..., None], 3, -1)
    r = predict_image(Bright(), img, box=(120., 180., 200.), in_size=128, flip=False)
    np.testing.assert_allclose(r['kps'], [[91.7, 203.2]] * 2, atol=0.6)


def test_crop_matches_the_data_pipeline():
    from mss_pose.data import PoseDataset
    recs = read_lsp(SAMPLE)[:2]
    ds = PoseDataset(recs, 'lsp', 64)
    for i, rec in enumerate(recs):
        crop, M = crop_image(load_image(rec.image), None, 64)
        np.testing.assert_allclose(M, ds.crop_matrix(i))
        assert np.array_equal(crop, ds[i][0].permute(1, 2, 0).numpy())


def test_normalise_crops():
    crops = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    x = normalise_crops(crops)
    assert x.shape == (2, 3, 8, 8)
    from mss_pose.data import RenderTargets
    from mss_pose.heatmaps import HeatmapCodec
    b = (torch.from_numpy(crops).permute(0, 3, 1, 2).contiguous(), torch.zeros(2, 14, 2), torch.zeros(2, 14, dtype=torch.uint8))
    assert torch.allclose(x, RenderTargets(HeatmapCodec(8))(b)[0], atol=1e-6)               # what training sees
    with pytest.raises(ValueError, match='expected uint8 RGB crops'): normalise_crops(crops.astype(np.float32))


def test_load_image_inputs(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path/'a.png'), rgb[..., ::-1])
    assert np.array_equal(load_image(tmp_path/'a.png'), rgb)
    assert np.array_equal(load_image(str(tmp_path/'a.png')), rgb)
    assert np.array_equal(load_image((tmp_path/'a.png').read_bytes()), rgb)
    assert np.array_equal(load_image(Image.fromarray(rgb)), rgb)
    assert load_image(rgb[..., 0]).shape == (6, 9, 3)
    assert np.array_equal(load_image(np.dstack([rgb, np.full((6, 9), 255, np.uint8)])), rgb)
    (tmp_path/'b.jpg').write_text('not an image')
    with pytest.raises(ValueError, match=f'could not read image {tmp_path/"b.jpg"}'): load_image(tmp_path/'b.jpg')
    with pytest.raises(FileNotFoundError, match='image not found: .*c.jpg'): load_image(tmp_path/'c.jpg')
    with pytest.raises(ValueError, match='expected a non-empty \\(H, W, 3\\) uint8 RGB image'): load_image(rgb.astype(np.float32))


def test_predict_paths_matches_predict_image(tiny, tmp_path):
    model, _ = tiny
    paths = [r.image for r in read_lsp(SAMPLE)[:5]]
    kps, scores = predict_paths(model, paths, bs=2, device='cpu')
    assert kps.shape == (5, 14, 2) and scores.shape == (5, 14) and np.isfinite(kps).all()
    for i in (0, 4):
        r = predict_image(model, paths[i])
        np.testing.assert_allclose(kps[i], r['kps'], atol=1e-2)
        np.testing.assert_allclose(scores[i], r['scores'], atol=1e-4)
    boxes = [(100., 100., 150.)] * 2
    kb, _ = predict_paths(model, paths[:2], device='cpu', boxes=boxes)
    np.testing.assert_allclose(kb[1], predict_image(model, paths[1], box=boxes[1])['kps'], atol=1e-2)
    (tmp_path/'bad.jpg').write_bytes(b'\xff\xd8 junk')
    with pytest.raises(FileNotFoundError, match='1 of 3 images not found'): predict_paths(model, paths[:2] + [tmp_path/'x.jpg'])
    with pytest.raises(ValueError, match='bad.jpg'): predict_paths(model, [tmp_path/'bad.jpg'], device='cpu')
    with pytest.raises(ValueError, match='got 1 boxes for 2 images'): predict_paths(model, paths[:2], boxes=boxes[:1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_predict_paths_cuda_matches_cpu(tiny):
    model, _ = tiny
    paths = [r.image for r in read_lsp(SAMPLE)[:4]]
    kc, _ = predict_paths(model, paths, device='cpu')
    kg, _ = predict_paths(model, paths, device='cuda')
    model.cpu().to(memory_format=torch.contiguous_format)
    assert np.median(np.abs(kg - kc)) < 1.0                                         # autocast: close, not identical
