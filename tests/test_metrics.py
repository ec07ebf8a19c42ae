"Tests of mss_pose.metrics from outside: PCK/PCKh functions, tables, curves, and the fastai metrics built on them (in mss_pose.learner)."
import math
from types import SimpleNamespace

import pytest
import torch
from matplotlib.figure import Figure

from mss_pose.heatmaps import render_heatmaps, rescale_kps
from mss_pose.learner import PCK, PCKh, default_metrics
from mss_pose.metrics import (PCKTable, head_norm, joint_dists, pck, pck_convention, pck_curve, pck_table, plot_pck_curve,
                              pred_dists, torso_norm)
from mss_pose.skeleton import LSP, MPII


class Out(tuple):
    "Stand-in for `mss_pose.model.MSSOutput`: `(final, hms)`, built from one iterable."
    final = property(lambda self: self[0])
    hms = property(lambda self: self[1])


def batch(B, js=LSP, in_size=256, noise=0., seed=0):
    "Ground truth in input pixels, weights, and heatmaps rendered at in_size//4 from (noisy) keypoints."
    g = torch.Generator().manual_seed(seed)
    kps = torch.rand(B, js.J, 2, generator=g) * (in_size * 0.7) + in_size * 0.15
    w = torch.ones(B, js.J)
    pk = kps + torch.randn(kps.shape, generator=g) * noise
    hm, _ = render_heatmaps(rescale_kps(pk, in_size, in_size // 4), w, in_size // 4)
    return Out([hm, (hm[:, None],)]), kps, w


def learn(out, kps, w, in_size=256):
    return SimpleNamespace(pred=out, yb=(kps, w, getattr(out, 'final', out)), xb=(torch.zeros(kps.shape[0], 3, in_size, in_size),))


def lsp_gt():
    "One LSP person, l_shoulder at the origin and r_hip at (6, 8): torso 10 px."
    gt = torch.zeros(1, 14, 2)
    gt[0, LSP.index('r_hip')] = torch.tensor([6., 8.])
    return gt


# ---- pure functions ----

def test_perfect_predictions_score_one():
    gt, w = lsp_gt(), torch.ones(1, 14)
    per_joint, mean = pck(joint_dists(gt, gt, w, torso_norm(gt, w, 'lsp')), 0.2, 'lsp')
    assert torch.equal(per_joint, torch.ones(14)) and mean.item() == 1.


def test_threshold_boundary_is_inclusive():
    gt, w = lsp_gt(), torch.ones(1, 14)
    p = gt.clone(); p[0, 0, 0] += 2.                   # exactly 0.2 x torso
    assert pck(joint_dists(p, gt, w, torso_norm(gt, w, 'lsp')), 0.2)[0][0] == 1.
    p[0, 0, 0] += 0.01
    per_joint, mean = pck(joint_dists(p, gt, w, torso_norm(gt, w, 'lsp')), 0.2)
    assert per_joint[0] == 0. and mean.item() == pytest.approx(13 / 14)


def test_unlabelled_joints_are_not_misses():
    gt, w = lsp_gt(), torch.ones(1, 14)
    p = gt.clone(); p[0, 0] += 100.                    # a terrible prediction ...
    w[0, 0] = 0                                        # ... for an unlabelled joint
    per_joint, mean = pck(joint_dists(p, gt, w, torso_norm(gt, w, 'lsp')), 0.2, 'lsp')
    assert mean.item() == 1. and per_joint[0].isnan()


def test_unlabelled_reference_joint_drops_the_person():
    gt, w = lsp_gt().repeat(2, 1, 1), torch.ones(2, 14)
    w[1, LSP.index('l_shoulder')] = 0
    d = joint_dists(gt, gt, w, torso_norm(gt, w, 'lsp'))
    assert not d[0].isnan().any() and d[1].isnan().all()


def test_nan_prediction_is_a_miss():
    gt, w = lsp_gt(), torch.ones(1, 14)
    p = gt.clone(); p[0, 3] = float('nan')
    per_joint, mean = pck(joint_dists(p, gt, w, torso_norm(gt, w, 'lsp')), 0.2, 'lsp')
    assert per_joint[3] == 0. and mean.item() == pytest.approx(13 / 14)


def test_mpii_mean_excludes_pelvis_and_thorax():
    assert pck_convention('mpii').exclude == ('pelvis', 'thorax')
    d = torch.zeros(3, 16)
    d[:, MPII.index('pelvis')] = d[:, MPII.index('thorax')] = 1.
    per_joint, mean = pck(d, 0.5, 'mpii')
    assert mean.item() == 1. and per_joint[MPII.index('pelvis')] == 0.
    assert pck(d, 0.5, 'mpii', exclude=())[1].item() == pytest.approx(14 / 16)


def test_training_metric_and_eval_share_one_convention():
    for name, title in (('lsp', 'PCK@0.2'), ('mpii', 'PCKh@0.5'), ('coco', 'PCK@0.2')):
        (m,), c = default_metrics(name), pck_convention(name)
        assert (m.thr, m.norm, m.name, c.title) == (c.thr, c.norm, title.lower(), title)


def test_head_norm_box_and_segment():
    gt, w = torch.zeros(1, 16, 2), torch.ones(1, 16)
    gt[0, MPII.index('head_top')] = torch.tensor([0., -20.])
    assert head_norm(gt, w, 'mpii').item() == 20.                           # head segment fallback
    assert head_norm(gt, w, 'mpii', torch.tensor([[0., 0., 30., 40.]])).item() == pytest.approx(30.)  # 0.6 x diag


def test_curve_matches_pck_and_is_monotone():
    torch.manual_seed(0)
    d = torch.rand(40, 14) * 0.5; d[::5, 2] = math.nan
    thrs = torch.linspace(0, 0.5, 6)
    c = pck_curve(d, thrs)
    assert c.shape == (6, 14) and (c.diff(dim=0) >= 0).all()
    assert torch.allclose(c[2], pck(d, thrs[2].item())[0])


def test_table_merges_left_and_right():
    pj = torch.linspace(0.5, 1.0, 14)
    t = pck_table(pj, 'lsp')
    assert isinstance(t, PCKTable) and t[0] == ['PCK', 'Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean']
    assert t[1][2] == pytest.approx((pj[LSP.index('l_shoulder')] + pj[LSP.index('r_shoulder')]).item() / 2)
    assert t[1][-1] == pytest.approx(pj.mean().item())
    assert 'Shoulder' in str(t) and '|---|' in t._repr_markdown_()
    assert pck_table({'a': pj, 'b': pj}, 'lsp', merge=False)[0][1:-1] == list(LSP.joints)


def test_plot_returns_figure():
    thrs = torch.linspace(0, 0.5, 5)
    c = pck_curve(torch.rand(10, 16), thrs)
    fig = plot_pck_curve([c, c], thrs, ['a', 'b'], 'mpii')
    assert isinstance(fig, Figure) and sum(ax.get_visible() for ax in fig.axes) == 8


# ---- fastai metrics ----

def test_metric_perfect_heatmaps():
    m = PCK('lsp'); m.reset()
    m.accumulate(learn(*batch(3)))
    assert m.value == 1. and m.name == 'pck@0.2'


def test_metric_two_batches_equal_one_concatenated_batch():
    b1, b2 = batch(2, MPII, noise=8., seed=1), batch(3, MPII, noise=8., seed=2)
    b2[2][1, :4] = 0
    m = PCKh('mpii'); m.accumulate(learn(*b1)); m.accumulate(learn(*b2))
    cat = torch.cat([b1[0].final, b2[0].final]), torch.cat([b1[1], b2[1]]), torch.cat([b1[2], b2[2]])
    m2 = PCKh('mpii'); m2.accumulate(learn(*cat))      # plain tensor as learn.pred
    assert m.name == 'pckh@0.5' and m.value == m2.value and torch.equal(m.per_joint, m2.per_joint)
    assert m.value == pytest.approx(pck(pred_dists(*cat, 256, 'mpii', 'head'), 0.5, 'mpii')[1].item())
    assert m.table()[1][-1] == pytest.approx(m.value)
    m.reset(); assert m.value is None


def test_metric_non_square_input():
    _, kps, w = batch(2)
    kps = rescale_kps(kps, 256, (256, 192))                          # a 256 x 192 (h, w) input
    hm, _ = render_heatmaps(rescale_kps(kps, (256, 192), (64, 48)), w, (64, 48))
    m = PCK('lsp', thr=0.05)
    m.accumulate(SimpleNamespace(pred=Out([hm, ()]), yb=(kps, w), xb=(torch.zeros(2, 3, 256, 192),)))
    assert m.value == 1.


# ---- bad input ----

def test_errors():
    out, kps, w = batch(2)
    with pytest.raises(ValueError, match='differ in batch size or joints'): pred_dists(out, kps[:1], w[:1], 256, 'lsp')
    with pytest.raises(ValueError, match="joint set 'mpii' has 16"): PCKh('mpii').accumulate(learn(out, kps, w))
    with pytest.raises(ValueError, match='differ in batch size or joints'): joint_dists(kps[:, :3], kps, w, 1.)
    with pytest.raises(ValueError, match=r'weight must be \(B, J\)'): joint_dists(kps, kps, w[:1], 1.)
    with pytest.raises(ValueError, match="unknown joint set 'h36m'"): PCK('h36m')
    with pytest.raises(ValueError, match="unknown norm 'bbox'"): PCK('lsp', norm='bbox')
    with pytest.raises(ValueError, match="unknown norm 'bbox'"): pred_dists(out, kps, w, 256, 'lsp', norm='bbox')
    with pytest.raises(ValueError, match="unknown decode method 'soft'"): PCK('lsp', decode='soft')
    with pytest.raises(ValueError, match='thr must be a positive number'): PCK('lsp', thr=-1)
    with pytest.raises(TypeError, match='expected an MSSOutput'): PCK('lsp').accumulate(learn([1, 2], kps, w))
    with pytest.raises(ValueError, match='no head segment'): head_norm(torch.zeros(1, 17, 2), torch.ones(1, 17), 'coco')
    with pytest.raises(ValueError, match=r'boxes must be \(B, 4\)'): head_norm(kps, w, 'lsp', torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r'dists must be \(N, J\)'): pck(torch.zeros(14), 0.2)
    with pytest.raises(ValueError, match="got 14 joints but joint set 'mpii'"): pck(torch.zeros(1, 14), 0.5, 'mpii')
    with pytest.raises(ValueError, match=r'must be \(J,\) = \(16,\)'): pck_table(torch.ones(14), 'mpii')
    with pytest.raises(ValueError, match='2 curves but 1 labels'): plot_pck_curve([torch.ones(2, 3)] * 2, [0.1, 0.2], ['a'])
