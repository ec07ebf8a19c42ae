"Tests of mss_pose.export and the CLI's `export` and `--engine`: ONNX export with metadata, ONNX Runtime and OpenVINO against PyTorch, a missing extra."
import json
import os
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import mss_pose
from mss_pose.cli import _ENGINES, _PRECISIONS, main
from mss_pose.export import (ENGINES, PRECISIONS, OnnxEngine, OpenVinoEngine, decode_heatmaps_np, default_engine, export_onnx, load_engine,
                              onnx_meta, predict_files)
from mss_pose.inference import TorchEngine, predict_paths, read_checkpoint, save_checkpoint
from mss_pose.model import MSSConfig, MSSNet

SAMPLE = Path(mss_pose.__file__).parent / 'sample'
NO_EXTRA = 'needs the {} package, which is not installed: pip install "mss_pose[{}]"'


def run(capsys, *argv):
    "Exit status, stdout and stderr of `main(argv)`."
    try: code = main([str(a) for a in argv])
    except SystemExit as e: code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    "A random tiny model (two passes: it has a person box rule) and its checkpoint."
    torch.manual_seed(0)
    model = MSSNet(MSSConfig.preset('tiny', joint_set='lsp', in_size=64, person_pad=1.4)).eval()
    return model, save_checkpoint(model, tmp_path_factory.mktemp('tiny') / 'tiny.pth', meta={'note': 'random init'})


@pytest.fixture(scope='module')
def shipped(tmp_path_factory):
    "The shipped checkpoint, exported once."
    return export_onnx(None, tmp_path_factory.mktemp('shipped') / 'mss_small_lsp.onnx')


def test_cli_names_the_engines_without_torch():
    assert _ENGINES == ENGINES and _PRECISIONS == PRECISIONS


def test_tiny_export_round_trip(tiny, tmp_path):
    model, ck = tiny
    f = export_onnx(ck, tmp_path / 'a' / 'tiny.onnx')
    info = onnx_meta(f)
    assert (info['cfg'], info['in_size'], info['checkpoint'], info['meta']['note']) == (model.cfg, 64, 'tiny.pth', 'random init')
    assert info['mss_pose_version'] == mss_pose.__version__
    for eng in (OnnxEngine(f), OpenVinoEngine(f, precision='fp32')):
        for B in (1, 5, 9):                                               # dynamic batch axis; OpenVINO's calls of 4 x threads
            x = torch.randn(B, 3, 64, 64)
            with torch.no_grad(): want = model(x).final
            assert torch.allclose(eng(x).final, want, atol=1e-4)


def test_shipped_export_is_self_describing(shipped):
    ck = read_checkpoint()
    info = onnx_meta(shipped)
    assert (info['cfg'], info['meta'], info['in_size']) == (ck['cfg'], json.loads(json.dumps(ck['meta'])), ck['cfg'].in_size)
    m = onnx.load(str(shipped))
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    S, J = ck['cfg'].in_size, ck['cfg'].J
    assert ([i.name for i in m.graph.input], dims(m.graph.input[0])) == (['images'], ['batch', 3, S, S])
    assert ([o.name for o in m.graph.output], dims(m.graph.output[0])) == (['heatmaps'], ['batch', J, S // 4, S // 4])
    assert {p.key for p in m.metadata_props} >= {'cfg', 'meta', 'in_size', 'input', 'output', 'checkpoint', 'mss_pose_version'}


@pytest.fixture(scope='module')
def sample_ref():
    "The fp32 `MSSNet`'s keypoints and scores on all 40 sample images (two passes, flip test, DARK decoding, mapping back)."
    paths = sorted((SAMPLE / 'images').glob('*.jpg'))
    return paths, *predict_paths(load_engine(None, 'torch', 'cpu', precision=None), paths, device='cpu')


@pytest.mark.parametrize('engine', ['onnxruntime', 'openvino', 'torch'])
def test_fp32_engines_match_the_model_on_the_sample(shipped, sample_ref, engine):
    paths, k_t, s_t = sample_ref
    k_o, s_o = predict_files(load_engine(None if engine == 'torch' else shipped, engine, 'cpu', precision='fp32'), paths)
    assert len(paths) == 40 and k_o.shape == k_t.shape == (40, 14, 2)
    assert np.linalg.norm(k_o - k_t, axis=-1).max() < 0.5
    assert np.abs(s_o - s_t).max() < 1e-3


@pytest.mark.parametrize('engine', ['torch', 'openvino'])
def test_bf16_engines_match_the_model_but_for_rounding(sample_ref, engine):
    "bf16 moves most keypoints by a fraction of a pixel; where two heatmap peaks are nearly equal it can pick the other one."
    from mss_pose.metrics import pck, record_dists
    from mss_pose.readers import read_lsp
    paths, k_t, _ = sample_ref
    k_b, _ = predict_files(load_engine(None, engine, 'cpu', precision='bf16'), paths)
    d = np.linalg.norm(k_b - k_t, axis=-1)
    assert np.median(d) < 0.5 and (d < 0.5).mean() > 0.8, (np.median(d), (d < 0.5).mean())
    recs = {r.image.name: r for r in read_lsp(SAMPLE)}
    recs = [recs[p.name] for p in paths]
    score = lambda k: float(pck(record_dists(recs, k), 0.2, 'lsp')[1])
    assert abs(score(k_b) - score(k_t)) <= 0.02, (score(k_b), score(k_t))


def test_cli_export_then_eval_on_either_engine(capsys, tiny, tmp_path):
    _, ck = tiny
    code, out, err = run(capsys, 'export', '--checkpoint', ck, '--out', tmp_path / 'm.onnx')
    assert (code, err) == (0, '') and out.startswith(f"wrote {tmp_path / 'm.onnx'} (")
    preds = {}
    for name, flags in (('torch', ['--checkpoint', ck, '--engine', 'torch']), ('ort_pth', ['--checkpoint', ck, '--engine', 'onnxruntime']),
                        ('ort_onnx', ['--checkpoint', tmp_path / 'm.onnx', '--engine', 'onnxruntime']),
                        ('ov_pth', ['--checkpoint', ck]), ('ov_onnx', ['--checkpoint', tmp_path / 'm.onnx'])):   # openvino: the default
        assert run(capsys, 'eval', *flags, '--precision', 'fp32', '--out', tmp_path / f'{name}.json')[0] == 0
        preds[name] = np.array([p['joints'] for p in json.loads((tmp_path / f'{name}.json').read_text())['predictions']])
    for name in ('ort_pth', 'ort_onnx', 'ov_pth', 'ov_onnx'):   # a random model's heatmaps are nearly flat: float rounding can move a peak
        d = np.linalg.norm((preds[name] - preds['torch'])[..., :2], axis=-1)
        assert np.median(d) < 0.05 and (d < 0.5).mean() > 0.95, (name, np.median(d), (d < 0.5).mean())


@pytest.mark.parametrize('argv, msg', [
    (['eval', '--engine', 'torch', '--checkpoint', '{onnx}'], '{onnx} is an ONNX model: it runs on the onnxruntime or openvino engine, not torch'),
    (['eval', '--checkpoint', '{bad}'], 'could not read ONNX model {bad}: not an ONNX file'),
    (['eval', '--engine', 'onnxruntime', '--checkpoint', '{bad}'], 'could not read ONNX model {bad}: '),
    (['eval', '--first-size', '128'], '--first-size 128 needs --engine torch: the exported graph takes 192 px crops only'),
    (['export', '--checkpoint', '{missing}'], 'no checkpoint file at {missing}'),
    (['export', '--checkpoint', '{onnx}'], 'could not read checkpoint {onnx}: not a torch file, or corrupt or truncated'),
    (['export', '--out', '{dir}'], '--out {dir} is a folder; pass a file name'),
    (['export', '--int8'], '--int8 needs --calibration: a folder of images like those the model will predict'),
    (['export', '--int8', '--calibration', '{missing}'], '--calibration {missing} is not a folder'),
    (['export', '--int8', '--calibration', '{dir}', '--out', '{dir}/m.onnx'], '--int8 writes an OpenVINO model (.xml and .bin): --out {dir}/m.onnx does not end in .xml'),
    (['export', '--calibration', '{dir}'], '--calibration is for --int8'),
    (['eval', '--engine', 'torch', '--precision', 'int8'], "int8 is the openvino engine's precision"),
    (['eval', '--checkpoint', '{onnx}', '--precision', 'int8'], '{onnx} is not quantised'),
    (['eval', '--checkpoint', '{onnx}', '--engine', 'onnxruntime', '--precision', 'bf16'], "the onnxruntime engine runs the graph in fp32; --precision bf16 is the torch and openvino engines'"),
])
def test_bad_requests_are_one_line(capsys, tiny, tmp_path, argv, msg):
    names = dict(onnx=export_onnx(tiny[1], tmp_path / 'm.onnx'), bad=tmp_path / 'bad.onnx', missing=tmp_path / 'no.pth', dir=tmp_path)
    (tmp_path / 'im.jpg').write_bytes((SAMPLE / 'images' / 'im07961.jpg').read_bytes())        # a calibration folder
    names['bad'].write_text('not a model')
    argv = [a.format(**names) for a in argv]
    if '--out' not in argv: argv += ['--out', str(tmp_path / ('o.onnx' if argv[0] == 'export' else 'o.json'))]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, '') and err.startswith(f"mss_pose: error: {msg.format(**names)}") and err.count('\n') == 1, err


@pytest.mark.parametrize('module, argv', [
    ('onnxruntime', ['eval', '--engine', 'onnxruntime', '--out', 'o.json']),
    ('onnxruntime', ['predict', str(SAMPLE / 'images' / 'im07961.jpg'), '--engine', 'onnxruntime', '--out', 'pics']),
    ('openvino', ['eval', '--engine', 'openvino', '--out', 'o.json']),
    ('nncf', ['export', '--int8', '--calibration', str(SAMPLE), '--out', 'm.int8.xml']),
    ('onnx', ['export', '--out', 'm.onnx']),
])
def test_missing_extra_is_one_line(capsys, monkeypatch, tiny, tmp_path, module, argv):
    monkeypatch.setitem(sys.modules, module, None)                         # `import onnxruntime` now raises ImportError
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv, '--checkpoint', tiny[1])
    what = {'onnxruntime': 'the onnxruntime engine', 'openvino': 'the openvino engine', 'onnx': 'ONNX export', 'nncf': 'int8 quantisation'}[module]
    extra = {'openvino': 'openvino', 'nncf': 'int8'}.get(module, 'onnx')
    assert (code, out, err) == (2, '', f"mss_pose: error: {what} {NO_EXTRA.format(module, extra)}\n")
    assert list(tmp_path.iterdir()) == []                                  # refused before anything is written


@pytest.mark.parametrize('engine', ['onnxruntime', 'openvino'])
def test_graph_engines_run_on_the_cpu_only(tiny, engine):
    with pytest.raises(ValueError, match=f'the {engine} engine runs on the CPU, not cuda'): load_engine(tiny[1], engine, 'cuda')


def test_default_engine_is_openvino_where_installed_else_torch(monkeypatch, tiny, tmp_path):
    assert (default_engine(tiny[1], 'cpu'), default_engine(tiny[1], 'cuda'), default_engine('m.onnx', 'cuda')) == ('openvino', 'torch', 'openvino')
    monkeypatch.setitem(sys.modules, 'openvino', None)                     # not installed: torch, and onnxruntime for a .onnx
    assert (default_engine(tiny[1], 'cpu'), default_engine('m.onnx')) == ('torch', 'onnxruntime')
    assert type(load_engine(tiny[1], device='cpu')) is TorchEngine


def test_export_cache_is_reused_and_keyed_by_the_checkpoint(monkeypatch, tiny, tmp_path):
    from mss_pose.export import cached_onnx
    monkeypatch.setenv('MSS_POSE_CACHE', str(tmp_path / 'cache'))
    a = cached_onnx(tiny[1])
    assert a.parent == tmp_path / 'cache' / 'onnx' and cached_onnx(tiny[1]) == a and onnx_meta(a)['checkpoint'] == 'tiny.pth'
    other = save_checkpoint(tiny[0], tmp_path / 'tiny.pth', meta={'note': 'the same weights, other meta'})
    assert cached_onnx(other) != a and len(list(a.parent.iterdir())) == 2


def test_cli_export_int8_beside_the_checkpoint_where_eval_finds_it(capsys, tiny, tmp_path):
    from mss_pose.export import file_sha256
    ck = tmp_path / 'tiny.pth'
    ck.write_bytes(Path(tiny[1]).read_bytes())                             # a copy: the int8 model goes beside it
    cal = tmp_path / 'cal'; cal.mkdir()
    for f in sorted((SAMPLE / 'images').glob('*.jpg'))[:3]: (cal / f.name).write_bytes(f.read_bytes())
    (cal / 'broken.jpg').write_bytes(b'not an image')                      # skipped with a warning, as eval skips it
    code, out, err = run(capsys, 'export', '--int8', '--checkpoint', ck, '--calibration', cal, '--calibration-images', 4)
    assert code == 0 and out.splitlines()[-1].startswith(f"wrote {tmp_path / 'tiny.int8.xml'} ("), (out, err)   # after NNCF's progress
    assert f"mss_pose: warning: skipping {cal / 'broken.jpg'}" in err and 'with its .bin' in out.splitlines()[-1]
    eng = load_engine(ck, device='cpu')                                    # precision 'auto': the int8 model of these weights
    assert eng.info['int8'] and eng.info['checkpoint_sha256'] == file_sha256(ck) and eng.cfg == tiny[0].cfg
    assert run(capsys, 'eval', '--checkpoint', ck, '--precision', 'int8', '--out', tmp_path / 'e.json')[0] == 0


def test_shipped_int8_model_belongs_to_the_shipped_weights_and_keeps_pck(sample_ref):
    "The shipped int8 model is of the shipped weights (tools/ship_int8.py remade it) and scores what fp32 scores on the sample."
    from mss_pose.export import file_sha256, int8_file
    from mss_pose.inference import shipped_checkpoint
    from mss_pose.metrics import pck, record_dists
    from mss_pose.readers import read_lsp
    eng = load_engine(None, 'openvino', 'cpu')
    assert int8_file().is_file() and eng.info['int8'] and eng.info['checkpoint_sha256'] == file_sha256(shipped_checkpoint())
    paths, k_t, _ = sample_ref
    recs = {r.image.name: r for r in read_lsp(SAMPLE)}
    score = lambda k: float(pck(record_dists([recs[p.name] for p in paths], k), 0.2, 'lsp')[1])
    assert abs(score(predict_files(eng, paths)[0]) - score(k_t)) <= 0.03


def test_numpy_decoding_is_the_torch_decoding():
    "decode_heatmaps_np gives decode_heatmaps' keypoints (to 1e-4 map px) and scores, for every method, on maps with peaks anywhere."
    from mss_pose.heatmaps import decode_heatmaps
    g = torch.Generator().manual_seed(1)
    for side in (32, 48, 64):
        yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing='ij')
        c = torch.rand(3, 5, 2, generator=g) * (side + 2) - 1
        hm = torch.exp(-((xx - c[..., :1, None]) ** 2 + (yy - c[..., 1:, None]) ** 2) / 6) + 0.01 * torch.rand(3, 5, side, side, generator=g)
        for method in ('argmax', 'quarter', 'dark'):
            (k, s), (k_t, s_t) = decode_heatmaps_np(hm.numpy(), method), decode_heatmaps(hm, method)
            assert np.abs(k - k_t.numpy()).max() < 1e-4 and (s == s_t.numpy()).all(), (side, method)


def test_eval_on_a_graph_engine_never_imports_torch(tmp_path):
    "`mss_pose eval` on OpenVINO, images only, in fresh processes: the shipped int8 model never imports torch; an fp32 run does only to export the checkpoint once."
    import subprocess
    code = ("import sys; from mss_pose.cli import main\n"
            "try: main(sys.argv[1:])\nexcept SystemExit as e: assert not e.code, e.code\n"
            "print('torch' in sys.modules)")
    def torch_loaded(*flags):
        r = subprocess.run([sys.executable, '-c', code, 'eval', '--data', str(SAMPLE / 'images'), '--out', str(tmp_path / 'p.json'), *flags],
                           capture_output=True, text=True, env={**os.environ, 'MSS_POSE_CACHE': str(tmp_path / 'cache')})
        assert r.returncode == 0, r.stderr
        assert len(json.loads((tmp_path / 'p.json').read_text())['predictions']) == len(list((SAMPLE / 'images').glob('*.jpg')))
        return r.stdout.strip().splitlines()[-1] == 'True'
    assert not torch_loaded()                                                  # the shipped int8 model
    assert torch_loaded('--precision', 'fp32')                                 # the first fp32 run exports the checkpoint (torch)
    assert not torch_loaded('--precision', 'fp32')                             # later runs read the cached export
