"Tests of mss_pose.plotting and mss_pose.explorers from outside: the plotting functions directly, and the explorers by setting widget values."
import datetime
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from mss_pose.data import apply_affine
from mss_pose.inference import predict_image
from mss_pose.model import MSSConfig, MSSNet
from mss_pose.readers import read_lsp
from mss_pose.skeleton import LSP, MPII
from mss_pose.skeleton import stick_figure
from mss_pose.plotting import (fig_png, loss_terms, occlude_joint, plot_errors, plot_heatmap, plot_joint_grid, plot_loss, plot_pose,
                               plot_pyramid, plot_stacks)
from mss_pose.explorers import HeatmapExplorer, HeatmapMonitor, LossExplorer

SAMPLE = Path(__file__).parent.parent/'mss_pose'/'sample'


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return MSSNet(MSSConfig.preset('tiny', joint_set='lsp', in_size=64)).eval()


@pytest.fixture(scope='module')
def recs():
    return read_lsp(SAMPLE)[:3]


@pytest.fixture(scope='module')
def pred(model, recs):
    r = predict_image(model, recs[0].image)
    return r, apply_affine(recs[0].kps, r['M'])


def upload(name, data):
    "The value a browser gives `FileUpload` for one file."
    return ({'name': name, 'type': 'image/jpeg', 'size': len(data), 'content': memoryview(data),
             'last_modified': datetime.datetime.now(datetime.timezone.utc)},)


# --- plotting functions --------------------------------------------------------------------------------------------

def test_plots_make_figures_with_the_right_axes(pred, recs):
    r, gt = pred
    crop, hm, kps = r['crop'], r['out'].final[0], r['kps_crop']
    hms = [h[0] for h in r['out'].hms]                                   # per scale (S, J, h, w)
    n_before = len(plt.get_fignums())
    cases = {
        'pose': (plot_pose(crop, kps, LSP), 1),
        'heatmap': (plot_heatmap(crop, hm, 'neck', LSP, kps=kps), 1),
        'grid': (plot_joint_grid(crop, hm.numpy(), LSP, ncols=5), 14),
        'pyramid': (plot_pyramid(crop, hms, 3, LSP, stack=0), 4),
        'stacks': (plot_stacks(crop, hms, 3, LSP, final=hm), 3),
        'stacks, coarse scale': (plot_stacks(crop, hms, 3, LSP, scale=2), 2),
        'errors': (plot_errors(crop, kps, gt, LSP, recs[0].vis), 1),
    }
    for name, (fig, n_axes) in cases.items():
        assert isinstance(fig, Figure), name
        assert len(fig.axes) == n_axes, (name, len(fig.axes))
        assert fig_png(fig, dpi=40)[:8] == b'\x89PNG\r\n\x1a\n', name    # renders to the PNG the widgets show
    assert len(plt.get_fignums()) == n_before             # no pyplot figures left open


def test_plot_contents(pred, recs):
    r, gt = pred
    crop, hm = r['crop'], r['out'].final[0]
    assert plot_heatmap(crop, hm, 'neck', LSP).axes[0].get_title().startswith('neck')
    assert [a.get_title() for a in plot_joint_grid(crop, hm, LSP).axes] == list(LSP.joints)
    hms = [h[0] for h in r['out'].hms]
    assert [a.get_title() for a in plot_pyramid(crop, hms, 0, LSP).axes] == ['scale 0: 16 px', 'scale 1: 8 px', 'scale 2: 4 px', 'scale 3: 2 px']
    assert [a.get_title() for a in plot_stacks(crop, hms, 0, LSP, final=hm).axes] == ['stack 1', 'stack 2', 'final']
    shifted = gt + np.array([3., 4.], np.float32)                        # every joint 5 px off
    assert plot_errors(crop, shifted, gt, LSP).axes[0].get_title().endswith('mean error 5.0 px')
    # heatmaps are drawn over the image with the pixel-centre convention, whatever their size
    im = plot_heatmap(crop, hm, 0, LSP).axes[0].images[1]
    assert tuple(im.get_extent()) == (-0.5, 63.5, 63.5, -0.5)


def test_plot_errors_are_clear(pred):
    r, _ = pred
    crop, hm = r['crop'], r['out'].final[0]
    with pytest.raises(ValueError, match=r"must be \(J=16, h, w\) for joint set 'mpii'"): plot_heatmap(crop, hm, 0, MPII)
    with pytest.raises(KeyError, match="joint 'nose' is not in joint set 'lsp'"): plot_heatmap(crop, hm, 'nose', LSP)
    with pytest.raises(IndexError, match='joint 14 out of range'): plot_heatmap(crop, hm, 14, LSP)
    with pytest.raises(ValueError, match=r'expected an \(H, W, 3\) uint8 image'): plot_pose(crop[..., 0], r['kps_crop'], LSP)
    with pytest.raises(IndexError, match='scale 4 out of range for 4 scales'): plot_stacks(crop, [h[0] for h in r['out'].hms], 0, LSP, scale=4)


def test_occlude_joint(pred, recs):
    r, gt = pred
    vis = np.where(recs[0].vis > 0, 2, 0).astype(np.uint8)
    j = LSP.index('l_knee')
    img, v = occlude_joint(r['crop'], gt, vis, j, size=0.2)
    assert v[j] == 1 and not np.array_equal(img, r['crop'])
    assert np.array_equal(occlude_joint(r['crop'], gt, vis, j, size=0.2)[0], img)   # deterministic
    changed = (v != vis)
    assert (v[changed] == 1).all()


def test_loss_terms_and_plot():
    st = stick_figure(MPII, 64)
    p = st.copy(); p[MPII.index('l_elbow')] += (0, 5)
    mse, sa = loss_terms(st, p, MPII)
    assert np.flatnonzero(mse).tolist() == [MPII.index('l_elbow')]
    assert set(np.flatnonzero(sa)) == {MPII.index('l_elbow'), *MPII.neighbours[MPII.index('l_elbow')]}
    assert (sa >= mse).all()
    far = st.copy(); far[0] = (500., 500.)                              # a joint off the map predicts nothing
    assert np.isfinite(loss_terms(st, far, MPII)[1]).all()
    fig = plot_loss(st, p, MPII, mse, sa, 'l_elbow')
    assert isinstance(fig, Figure) and len(fig.axes) == 2


# --- widgets, driven by setting their values -----------------------------------------------------------------------

def test_heatmap_explorer_callbacks(model, recs):
    ex = HeatmapExplorer(model, recs, raise_errors=True)
    assert ex.js is LSP and ex.in_size == 64                                     # from model.cfg
    assert ex.error is None and ex.result['name'] == recs[0].image.name
    ex.joint.value = LSP.index('r_wrist')
    assert ex.figs['view'].axes[0].get_title().startswith('r_wrist')
    for view, n in [('all joints', 14), ('pyramid', 4), ('stacks', 3), ('joint', 1)]:
        ex.view.value = view
        assert len(ex.figs['view'].axes) == n, view
    ex.view.value = 'pyramid'
    assert (ex.stack.min, ex.stack.max, ex.stack.value) == (1, 2, 2)              # stacks counted from 1, as titled
    assert 'stack 2 of 2' in ex.figs['view'].texts[0].get_text()
    ex.stack.value = 1
    assert 'stack 1 of 2' in ex.figs['view'].texts[0].get_text()
    assert ex.scale.disabled and not ex.stack.disabled
    ex.alpha.value = 0.2
    assert ex.figs['view'].axes[0].images[1].get_alpha() == pytest.approx(0.2)
    ex.image.value = 1
    assert ex.result['name'] == recs[1].image.name
    np.testing.assert_allclose(ex.result['gt'], apply_affine(recs[1].kps, ex.result['M']))
    assert 'prediction vs truth' in ex.figs['pose'].axes[0].get_title()


def test_heatmap_explorer_flip_and_occlusion(model, recs):
    ex = HeatmapExplorer(model, recs[:1], raise_errors=True)
    with_flip = ex.result['kps']
    ex.flip.value = False
    np.testing.assert_allclose(ex.result['kps'], predict_image(model, recs[0].image, flip=False)['kps_crop'], atol=1e-3)
    ex.flip.value = True
    ex.joint.value = LSP.index('l_shoulder')
    ex.mask.value = True
    r = ex.result
    assert r['clean'] is not None and np.array_equal(r['clean'], with_flip)
    assert not np.array_equal(r['crop'], ex.predict(occlude=None)['crop'])          # the crop was changed...
    assert 'l_shoulder occluded vs clean' in ex.figs['pose'].axes[0].get_title()   # ...and compared with the clean one
    ex.joint.value = LSP.index('r_ankle')                                           # occlusion follows the joint
    assert not np.array_equal(ex.result['crop'], r['crop'])


def test_heatmap_explorer_crops_as_predict_image(recs):
    torch.manual_seed(1)
    boxed = MSSNet(MSSConfig.preset('tiny', joint_set='lsp', in_size=64, person_pad=1.4)).eval()   # two passes
    for refine in (False, True):
        ex = HeatmapExplorer(boxed, recs[:1], refine=refine, raise_errors=True)
        ref = predict_image(boxed, recs[0].image, refine=refine)
        np.testing.assert_array_equal(ex.result['crop'], ref['crop'])
        np.testing.assert_allclose(ex.result['M'], ref['M'])
        assert (ex.result['box'] is not None) == refine                            # a second pass around the joints found
    ex.mask.value = True                                                         # the occluded crop is the clean one's
    np.testing.assert_allclose(ex.result['M'], ex.predict(occlude=None)['M'])


def test_heatmap_explorer_upload_and_errors(model, recs):
    ex = HeatmapExplorer(model, [recs[0].image], raise_errors=True)        # a plain path: no ground truth
    assert ex.result['gt'] is None and ex.figs['pose'].axes[0].get_title() == 'prediction'
    ex.upload.value = upload('person.jpg', (SAMPLE/'images'/'im07980.jpg').read_bytes())
    assert (len(ex.samples), ex.image.value, ex.result['name']) == (2, 1, 'person.jpg')
    with pytest.raises(ValueError, match='could not decode'):
        ex.upload.value = upload('notes.txt', b'plain text')
    quiet = HeatmapExplorer(model, [recs[0].image])                          # UI mode: recorded, not raised
    quiet.upload.value = upload('notes.txt', b'plain text')
    assert isinstance(quiet.error, ValueError)

    class Broken(torch.nn.Module):
        cfg = MSSConfig.preset('tiny', joint_set='lsp')                  # 128 px; in_size=64 below overrides it
        def forward(self, x): raise RuntimeError('model exploded')
    with pytest.raises(RuntimeError, match='model exploded'): HeatmapExplorer(Broken(), recs[:1], in_size=64, raise_errors=True)
    quiet = HeatmapExplorer(Broken(), recs[:1], in_size=64)
    assert str(quiet.error) == 'model exploded' and quiet.in_size == 64
    mpii = MSSNet(MSSConfig.preset('tiny', joint_set='mpii', in_size=64)).eval()
    with pytest.raises(ValueError, match="record is 'lsp', the model predicts 'mpii'"): HeatmapExplorer(mpii, recs)
    with pytest.raises(ValueError, match='at least one image'): HeatmapExplorer(model, [])


def test_loss_explorer_callbacks():
    le = LossExplorer(LSP, joint='l_knee', raise_errors=True)
    assert le.result['mse'] == 0 and le.result['sa'] == 0
    le.dx.value = 3.
    m, s = le.result['mse'], le.result['sa']
    assert 0 < m < s
    le.dy.value = 3.
    assert le.result['mse'] > m
    le.alpha.value = 0.
    assert le.result['sa'] == pytest.approx(le.result['mse'])
    le.joint.value = LSP.index('neck')
    assert le.result['pred'][LSP.index('neck')].tolist() == pytest.approx((le.gt[LSP.index('neck')] + 3).tolist())
    assert len(le.figs['loss'].axes) == 3
    top = le.figs['loss'].axes[1].get_ylim()
    for dx in (-4., 0., 4.):                                               # one bar scale across dx
        le.dx.value = dx
        assert le.figs['loss'].axes[1].get_ylim() == top and le.result['sa_joint'].max() <= top[1]
    with pytest.raises(ValueError, match=r'kps must be \(J=14, 2\)'): LossExplorer(LSP, kps=np.zeros((3, 2)))


def test_heatmap_monitor_in_a_real_fit(recs):
    from fastai.learner import Learner
    from mss_pose.data import pose_dataloaders
    from mss_pose.loss import MSSLoss
    all_recs = read_lsp(SAMPLE)
    cfg = MSSConfig.preset('tiny', joint_set='lsp', in_size=64)
    dls = pose_dataloaders(all_recs[:4], all_recs[4:6], cfg, bs=2, num_workers=0)
    mon = HeatmapMonitor(all_recs[6].image, every=1, max_figs=1)
    learn = Learner(dls, MSSNet(cfg), loss_func=MSSLoss(cfg), cbs=mon)
    with learn.no_logging(): learn.fit(2, 1e-3)
    assert len(mon.figs) == 1 and mon.figs[0].texts[0].get_text() == 'epoch 2'
    assert len(mon.figs[0].axes) == 14 and mon.crop.shape == (64, 64, 3)
