"Tests of `mss_pose.model` from outside: shapes, switches, gradients, determinism, bad input, checkpoints."
import json
from dataclasses import replace

import pytest
import torch
from fastai.torch_core import apply, to_concat, to_detach, to_device

from mss_pose.hourglass import StackedHourglass, n_params
from mss_pose.model import PRESETS, MSSConfig, MSSNet, MSSOutput, load_weights
from mss_pose.skeleton import COCO, LSP, MPII

SWITCHES = [(False, False), (True, False), (False, True), (True, True)]  # (ms_supervision, regression)


def _net(preset='tiny', ms=True, reg=True, seed=0, **kw) -> MSSNet:
    torch.manual_seed(seed)
    return MSSNet(MSSConfig.preset(preset, ms_supervision=ms, regression=reg, **kw))


def _loss(out: MSSOutput) -> torch.Tensor:
    "A stand-in loss against all-ones targets (zero outputs, as zero-initialised heads give, still get a gradient)."
    return (out.final - 1).square().mean() + sum((h - 1).square().mean() for h in out.hms)


def _check_shapes(out: MSSOutput, cfg: MSSConfig, B: int):
    assert type(out) is MSSOutput and type(out.hms) is tuple
    assert out.final.shape == (B, cfg.J, cfg.out_size, cfg.out_size)
    assert len(out.hms) == cfg.n_scales == (cfg.depth if cfg.ms_supervision else 1)
    for h, s in zip(out.hms, cfg.scale_sizes): assert h.shape == (B, cfg.n_stacks, cfg.J, s, s)
    for t in (out.final, *out.hms): assert torch.isfinite(t).all()


@pytest.mark.parametrize('ms,reg', SWITCHES)
@pytest.mark.parametrize('preset', sorted(PRESETS))
def test_output_shapes_every_preset_and_switch(preset, ms, reg):
    net = _net(preset, ms, reg).eval()
    cfg = net.cfg
    with torch.no_grad(): out = net(torch.randn(1, 3, cfg.in_size, cfg.in_size))
    _check_shapes(out, cfg, 1)
    if not reg: assert torch.equal(out.final, out.hms[0][:, -1])


def test_scale_sizes_follow_input_size():
    assert MSSConfig.preset('hg8').scale_sizes == (64, 32, 16, 8)
    assert MSSConfig.preset('hg8').baseline().scale_sizes == (64,)
    assert MSSConfig.preset('tiny', depth=3).scale_sizes == (32, 16, 8)
    cod = MSSConfig.preset('hg8', sigma=1.5).codec('argmax')                    # the targets the data renders for this config
    assert (cod.in_size, cod.sizes, cod.sigma, cod.method) == (256, (64, 32, 16, 8), 1.5, 'argmax')


@pytest.mark.parametrize('ms,reg', SWITCHES)
def test_train_mode_finite_and_gradients_reach_every_parameter(ms, reg):
    net = _net('tiny', ms, reg, joint_set='lsp').train()
    opt, x = torch.optim.SGD(net.parameters(), lr=0.1), torch.randn(2, 3, 128, 128)
    for step in range(2):          # behind a zero-initialised output conv, gradients arrive from the second step on
        opt.zero_grad()
        out = net(x)
        _check_shapes(out, net.cfg, 2)
        _loss(out).backward()
        if step == 0: opt.step()
    for name, p in net.named_parameters():
        assert p.grad is not None, f'no gradient reaches {name}'
        assert torch.isfinite(p.grad).all(), name
        if p.ndim > 1: assert p.grad.abs().sum() > 0, f'zero gradient for {name}'


def test_baseline_is_exactly_the_stacked_hourglass():
    cfg = MSSConfig.preset('small')
    base = MSSNet(cfg.baseline())
    assert base.ms_heads is None and base.regress is None
    sh = StackedHourglass(cfg.n_stacks, cfg.n_feats, cfg.J, cfg.depth)
    assert n_params(base) == n_params(sh)
    assert set(base.state_dict()) == {'backbone.' + k for k in sh.state_dict()}


def test_hg8_parameter_count_matches_newell():
    n = n_params(MSSNet(MSSConfig.preset('hg8').baseline()))
    assert abs(n / 25.1e6 - 1) < 0.02, n


@pytest.mark.parametrize('preset', ['tiny', 'small', 'hg8'])
def test_switches_remove_exactly_the_mss_parts(preset):
    nets = {sw: _net(preset, *sw) for sw in SWITCHES}
    base, full = n_params(nets[False, False]), nets[True, True]
    heads, reg_ms = n_params(full.ms_heads), n_params(full.regress)
    assert heads > 0 and reg_ms > 0
    assert n_params(full) - base == heads + reg_ms
    assert n_params(nets[True, False]) - base == n_params(nets[True, False].ms_heads) == heads
    assert n_params(nets[False, True]) - base == n_params(nets[False, True].regress)  # fed the finest scale only


def test_mss_parts_leave_the_backbone_computation_unchanged():
    base, full = _net('tiny', False, False).eval(), _net('tiny', True, True).eval()
    sd_b, sd_f = base.state_dict(), full.state_dict()
    assert all(torch.equal(sd_b[k], sd_f[k]) for k in sd_b)
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad(): assert torch.equal(base(x).hms[0], full(x).hms[0])


def test_deterministic_under_a_seed():
    x = torch.randn(2, 3, 128, 128)
    runs = []
    for _ in range(2):
        net = _net('tiny', seed=3)
        out = net(x); _loss(out).backward()
        runs.append((out, {k: p.grad.clone() for k, p in net.named_parameters()}))
    (o1, g1), (o2, g2) = runs
    assert torch.equal(o1.final, o2.final) and all(torch.equal(a, b) for a, b in zip(o1.hms, o2.hms))
    assert all(torch.equal(g1[k], g2[k]) for k in g1)
    assert not torch.equal(_net('tiny', seed=4)(x).final, o1.final)


@pytest.mark.parametrize('shape,msg', [
    ((3, 128, 128), 'expects images (B, 3, H, W), got shape (3, 128, 128)'),
    ((2, 1, 128, 128), 'expects 3 (RGB) channels, got 1'),
    ((2, 4, 128, 128), 'expects 3 (RGB) channels, got 4'),
    ((2, 3, 128, 192), 'square inputs, got H=128 != W=192'),
    ((2, 3, 96, 96), 'input size 96 is not divisible by 4 * 2**depth = 64'),
])
def test_bad_input_gets_a_clear_error(shape, msg):
    with pytest.raises(ValueError, match=msg.replace('(', r'\(').replace(')', r'\)').replace('*', r'\*')):
        _net('tiny')(torch.randn(*shape))


@pytest.mark.parametrize('kw,msg', [
    (dict(in_size=200), 'in_size=200 is not divisible by 4 * 2**depth = 64'),
    (dict(in_size=192, depth=5), 'in_size=192 is not divisible by 4 * 2**depth = 128'),
    (dict(joint_set='lsp14'), "unknown joint set 'lsp14'; known joint sets"),
    (dict(n_feats=33), 'n_feats must be even'),
    (dict(regression='yes'), 'regression must be a bool'),
])
def test_bad_config_gets_a_clear_error(kw, msg):
    with pytest.raises(ValueError, match=msg.replace('*', r'\*')): MSSConfig(**kw)


def test_presets_and_overrides():
    with pytest.raises(ValueError, match="unknown MSSConfig preset 'hg16'; known presets"): MSSConfig.preset('hg16')
    with pytest.raises(ValueError, match=r"unknown MSSConfig field\(s\) \['stacks'\]"): MSSConfig.preset('hg8', stacks=4)
    cfg = MSSConfig.preset('small', joint_set='coco')
    assert (cfg.J, cfg.js, cfg.ms_supervision, cfg.regression) == (17, COCO, True, True)
    assert MSSConfig.preset('small', joint_set=COCO).J == 17     # a JointSet object works as well as its name
    assert replace(cfg, n_stacks=1).n_stacks == 1
    with pytest.raises(Exception): cfg.n_stacks = 4          # frozen: variants go through validation
    assert MSSConfig().js is MPII and MSSConfig().J == 16


def test_config_dict_roundtrip_and_old_dicts():
    cfg = MSSConfig.preset('tiny', joint_set=LSP, person_pad=1.4)
    d = cfg.to_dict()
    assert d['joint_set'] == 'lsp' and json.loads(json.dumps(d)) == d          # JSON-ready, the joint set by name
    back = MSSConfig.from_dict(d)
    assert back == replace(cfg, joint_set='lsp') and back.js == LSP
    old = {k: v for k, v in d.items() if k != 'joint_set'} | {'n_joints': 14}   # written before joint_set replaced n_joints
    assert MSSConfig.from_dict(old).js == LSP and MSSConfig.from_dict(old | {'n_joints': 17}).js == COCO
    with pytest.raises(ValueError, match="config has n_joints=14, but joint set 'mpii' has 16 joints"):
        MSSConfig.from_dict(old | {'joint_set': 'mpii'})
    with pytest.raises(ValueError, match="config has n_joints=15, but no known joint set has 15"): MSSConfig.from_dict(old | {'n_joints': 15})
    with pytest.raises(ValueError, match=r"unknown MSSConfig field\(s\) \['dropout'\]"): MSSConfig.from_dict(d | {'dropout': 0.1})


def test_joint_count_mismatch():
    net = _net('tiny', joint_set='lsp')
    assert net.cfg.J == LSP.J and net(torch.randn(1, 3, 128, 128)).final.shape[1] == 14
    with pytest.raises(ValueError, match='checkpoint has 14 joints, model has 17 joints'):
        load_weights(_net('tiny', joint_set='coco'), net.state_dict())


def test_load_weights_roundtrip_and_formats(tmp_path):
    src = _net('tiny', seed=1).eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad(): ref = src(x).final
    torch.save({'model': src.state_dict(), 'opt': {'state': {}}}, tmp_path / 'learn.pth')   # fastai learn.save format
    torch.save({'module.' + k: v for k, v in src.state_dict().items()}, tmp_path / 'dp.pth')  # DataParallel names
    for f in ('learn.pth', 'dp.pth'):
        dst = load_weights(_net('tiny', seed=2), tmp_path / f).eval()
        with torch.no_grad(): assert torch.equal(dst(x).final, ref)
    with pytest.raises(FileNotFoundError, match='no checkpoint file at'): load_weights(src, tmp_path / 'missing.pth')


def test_load_weights_reports_architecture_differences():
    full, base = _net('tiny'), _net('tiny', False, False)
    with pytest.raises(ValueError, match='checkpoint has no multi-scale heads, model has multi-scale heads'): load_weights(full, base)
    with pytest.raises(ValueError, match='checkpoint has 2 stacks, model has 1 stacks'): load_weights(_net('tiny', n_stacks=1), full)
    with pytest.raises(ValueError, match='checkpoint has 32 features, model has 64 features'): load_weights(_net('tiny', n_feats=64), full)
    with pytest.warns(UserWarning, match='model tensors not in the checkpoint'):
        warm = load_weights(_net('tiny', seed=5), base, strict=False)      # MSS-Net started from a baseline
    assert all(torch.equal(v, warm.state_dict()[k]) for k, v in base.state_dict().items())


def test_output_survives_fastai_tuple_handling():
    out = _net('tiny')(torch.randn(2, 3, 128, 128))
    for o in (apply(lambda t: t * 1, out), to_detach(out), to_device(out, 'cpu')):
        assert type(o) is MSSOutput and type(o.hms) is tuple and torch.equal(o.final, out.final)
    cat = to_concat([to_detach(out), to_detach(out)])
    assert type(cat) is MSSOutput and cat.final.shape[0] == 4 and [h.shape[0] for h in cat.hms] == [4] * 4
    with pytest.raises(ValueError, match=r'holds \(final, hms\), got 1 items'): MSSOutput([out.final])


def test_bf16_autocast_and_channels_last_on_cpu():
    net = _net('tiny').eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        ref = net(x).final
        with torch.autocast('cpu', dtype=torch.bfloat16): o = net(x)
        assert o.final.dtype == torch.bfloat16 and all(torch.isfinite(t.float()).all() for t in (o.final, *o.hms))
        assert (o.final.float() - ref).abs().max() < 0.1 * ref.abs().max()
        cl = net.to(memory_format=torch.channels_last)
        assert torch.allclose(cl(x.contiguous(memory_format=torch.channels_last)).final, ref, atol=1e-4)
    net.train()
    with torch.autocast('cpu', dtype=torch.bfloat16): loss = _loss(net(x.contiguous(memory_format=torch.channels_last)))
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_fp16_autocast_channels_last():
    net = _net('tiny').cuda().to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 128, 128, device='cuda').contiguous(memory_format=torch.channels_last)
    with torch.autocast('cuda', dtype=torch.float16): out = net(x)
    _check_shapes(apply(lambda t: t.float(), out), net.cfg, 2)
    _loss(apply(lambda t: t.float(), out)).backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())
