"Structure-aware and multi-scale loss, from outside the notebooks."
import pytest, torch
from mss_pose.skeleton import LSP
from mss_pose.heatmaps import render_heatmaps, render_multiscale
from mss_pose.loss import MSSLoss, structure_aware_loss, heatmap_mse, structure_matrix
from mss_pose.model import MSSConfig, MSSNet


def _pair(moved=(), dx=4.):
    g = torch.Generator().manual_seed(0)
    kps = torch.rand(2, 14, 2, generator=g) * 20 + 6
    gt, w = render_heatmaps(kps, torch.ones(2, 14), 32)
    k2 = kps.clone(); k2[:, list(moved), 0] += dx
    return render_heatmaps(k2, torch.ones(2, 14), 32)[0], gt, w


def test_alpha_zero_is_plain_mse():
    p, gt, w = _pair([1])
    torch.testing.assert_close(structure_aware_loss(p, gt, w, structure_matrix(LSP), alpha=0.), heatmap_mse(p, gt, w), rtol=0, atol=0)


def test_displaced_neighbour_costs_more_and_is_shared():
    knee, ankle = LSP.index('r_knee'), LSP.index('r_ankle')
    p, gt, w = _pair([knee])
    sa, mse = structure_aware_loss(p, gt, w, structure_matrix(LSP)), heatmap_mse(p, gt, w)
    assert sa.sum() > mse.sum()
    assert mse[:, ankle].abs().max() == 0 and (sa[:, ankle] > 0).all()


def test_unlabelled_joints_contribute_nothing():
    p, gt, w = _pair([3])
    w[:, 3] = 0
    assert structure_aware_loss(p, gt, w, structure_matrix(LSP)).sum() == 0


def test_mss_loss_on_model_output_backprops():
    torch.manual_seed(0)
    cfg = MSSConfig.preset('tiny', joint_set='lsp')
    model = MSSNet(cfg)
    x = torch.randn(2, 3, 128, 128)
    kps = torch.rand(2, 14, 2) * 100 + 14
    hms, w = render_multiscale(kps, torch.ones(2, 14), 128, cfg.scale_sizes)
    out = model(x)
    lf = MSSLoss(cfg)
    loss = lf(out, kps, w, *hms)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    assert MSSLoss(cfg, reduction='none')(out, kps, w, *hms).shape == (2,)


def test_baseline_loss_is_plain_mse_without_final_term():
    lf = MSSLoss(MSSConfig.preset('tiny', joint_set='lsp').baseline())
    assert lf.cfg.alpha == 0 and lf.final_weight == 0
    full = MSSLoss(MSSConfig.preset('tiny', joint_set='lsp'))
    assert (full.cfg.alpha, full.cfg.structure, full.final_weight) == (1., 'diff', 1.)   # the config's structure weight and reading (the seed study's best), a final term with regression
    assert MSSLoss(MSSConfig.preset('tiny', joint_set='lsp').baseline(), final_weight=0.5).final_weight == 0.5   # explicit weight wins


def test_clear_errors():
    cfg = MSSConfig.preset('tiny', joint_set='lsp')
    kps = torch.rand(1, 14, 2) * 100
    hms, w = render_multiscale(kps, torch.ones(1, 14), 128, cfg.scale_sizes)
    out = MSSNet(cfg)(torch.randn(1, 3, 128, 128))
    with pytest.raises(ValueError, match='4 scales but the batch has 2'): MSSLoss(cfg)(out, kps, w, *hms[:2])
    with pytest.raises(TypeError, match='MSSOutput'): MSSLoss(cfg)(hms[0], kps, w, *hms)
    with pytest.raises(ValueError, match='unknown reduction'): MSSLoss(cfg, reduction='max')(out, kps, w, *hms)


def test_decodes_returns_input_pixels():
    kps = torch.tensor([[[40.3, 70.8], [100.2, 20.6]]])
    hm, _ = render_heatmaps(kps / 4 - 0.375, torch.ones(1, 2), 32)   # 128 px input -> 32 px maps
    dec = MSSLoss(MSSConfig.preset('tiny', joint_set='lsp')).decodes(hm)
    torch.testing.assert_close(dec[..., :2], kps, atol=0.1, rtol=0)
