"`mss_pose data`: archives made here, served from 127.0.0.1 (no internet on these machines), laid out, checked, refused."
import contextlib, dataclasses, functools, gzip, hashlib, http.server, io, json, tarfile, threading, zipfile
from pathlib import Path
import numpy as np
import pytest
import scipy.io as sio
import mss_pose.datasets as ds
from mss_pose.cli import _DATASETS
from mss_pose.readers import read_coco, read_lsp, read_mpii
from data_paths import LSPET, need_lspet
from helpers import run

SAMPLE = Path(__file__).resolve().parents[1] / 'mss_pose' / 'sample'
IMGS = sorted((SAMPLE / 'images').glob('*.jpg'))
J = sio.loadmat(SAMPLE / 'joints.mat')['joints']                   # (14, 3, 40), LSPET's layout
J_LSP = np.concatenate([J[:, :2], 1 - J[:, 2:]], 1).transpose(1, 0, 2)   # the same joints as LSP stores them


@contextlib.contextmanager
def serve(folder, cut=None):
    "Serve `folder` on 127.0.0.1 from a thread; `cut`: send only that many bytes of each file, then close the connection."
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
        def copyfile(self, src, dst): dst.write(src.read(cut) if cut else src.read())
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Handler, directory=str(folder)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try: yield f'http://127.0.0.1:{srv.server_address[1]}'
    finally: srv.shutdown(); srv.server_close()


def mat_bytes(j) -> bytes:
    buf = io.BytesIO(); sio.savemat(buf, {'joints': j}); return buf.getvalue()


def lsp_zip(path, j=J, imgs=IMGS, top='') -> Path:
    "An LSP/LSPET-style zip: README.txt, joints.mat and images/ under `top`."
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr(f'{top}README.txt', 'Leeds Sports Pose\n'); z.writestr(f'{top}joints.mat', mat_bytes(j))
        for f in imgs: z.write(f, f'{top}images/{f.name}')
    return Path(path)


def left(to: Path) -> list[str]:
    "What a command left in its --to folder."
    return sorted(p.name for p in to.iterdir()) if to.exists() else []


# --- LSPET and LSP ---------------------------------------------------------------------------------------------------

def test_cli_names_the_datasets():
    assert _DATASETS == tuple(ds.DATASETS)


@pytest.mark.parametrize('top', ['', 'lspet_dataset/', 'leeds-sport-pose-main/lspet_dataset/'])
def test_lspet_from_a_served_archive(tmp_path, capsys, top):
    lsp_zip(tmp_path / 'lspet_dataset.zip', top=top)
    with serve(tmp_path) as url: code, out, err = run(capsys, 'data', 'lspet', '--to', tmp_path / 'data', '--from', f'{url}/lspet_dataset.zip')
    assert code == 0, err
    assert left(tmp_path / 'data') == ['lspet'] and left(tmp_path / 'data' / 'lspet') == ['README.txt', 'images', 'joints.mat']
    assert 'images/: 40 images (im07961.jpg .. im08000.jpg)' in out and 'joints (14, 3, 40)' in out
    assert 'not a file we hold a checksum for (the release: 10,000 images)' in out
    recs = read_lsp(tmp_path / 'data' / 'lspet')
    np.testing.assert_allclose(recs[0].kps, J[:, :2, 0], rtol=1e-6)


def test_lsp_is_converted_to_lspet_layout(tmp_path, capsys):
    code, out, err = run(capsys, 'data', 'lsp', '--to', tmp_path / 'data', '--from', lsp_zip(tmp_path / 'lsp_dataset.zip', J_LSP))
    assert code == 0, err
    d = tmp_path / 'data' / 'lsp'
    np.testing.assert_array_equal(sio.loadmat(d / 'joints.mat')['joints'], J)
    np.testing.assert_array_equal(sio.loadmat(d / 'joints_lsp.mat')['joints'], J_LSP)
    assert [r.vis.tolist() for r in read_lsp(d)][:2] == [np.where(J[:, 2, i] > 0.5, 2, 0).tolist() for i in range(2)]
    assert "converted from LSP's layout" in out


@pytest.mark.parametrize('name,make,msg', [
    ('lspet', lambda p: lsp_zip(p, J_LSP), "joints.mat has LSP's layout (3, 14, 40), so this is LSP, not LSPET: use `mss_pose data lsp`"),
    ('lsp', lambda p: lsp_zip(p, J), "this is LSPET, not LSP: use `mss_pose data lspet`"),
    ('lspet', lambda p: lsp_zip(p, J, IMGS[:39]), "joints.mat has 40 people but images/ has 39 images: the archive is incomplete"),
    ('lspet', lambda p: lsp_zip(p, J[:2]), "joints.mat must hold 'joints' of shape (14, 3, N) (LSPET) or (3, 14, N) (LSP), got (2, 3, 40)"),
    ('coco', lambda p: lsp_zip(p), "no person_keypoints_*.json: not COCO's keypoint annotations"),
    ('mpii', lambda p: lsp_zip(p), "no MPII annotation file (.json)"),
])
def test_wrong_dataset_or_missing_images(tmp_path, capsys, name, make, msg):
    code, out, err = run(capsys, 'data', name, '--to', tmp_path / 'data', '--from', make(tmp_path / 'x.zip'))
    assert code == 2 and err.startswith('mss_pose: error: x.zip: ') and msg in err and len(err.splitlines()) == 1, err
    assert left(tmp_path / 'data') == []                            # nothing that looks like a dataset, no staging folder


def test_bad_archives(tmp_path, capsys):
    (tmp_path / 'junk.zip').write_bytes(b'not an archive at all')
    good = lsp_zip(tmp_path / 'good.zip').read_bytes()
    (tmp_path / 'cut.zip').write_bytes(good[:len(good) // 2])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as t: t.add(SAMPLE / 'images', 'images')
    (tmp_path / 'cut.tar.gz').write_bytes(buf.getvalue()[:len(buf.getvalue()) // 2])
    for f, msg in [('junk.zip', 'junk.zip is neither an archive'), ('cut.zip', 'cut.zip is neither an archive'),
                   ('cut.tar.gz', 'cut.tar.gz is a damaged archive'), ('nothing.zip', 'no such file')]:
        code, out, err = run(capsys, 'data', 'lspet', '--to', tmp_path / 'data', '--from', tmp_path / f)
        assert code == 2 and msg in err and len(err.splitlines()) == 1, (f, err)
        assert left(tmp_path / 'data') == []


def test_interrupted_download_leaves_nothing(tmp_path, capsys):
    lsp_zip(tmp_path / 'lspet_dataset.zip')
    with serve(tmp_path, cut=50_000) as url:
        code, out, err = run(capsys, 'data', 'lspet', '--to', tmp_path / 'data', '--from', f'{url}/lspet_dataset.zip')
    assert code == 2 and f'the download of {url}/lspet_dataset.zip was interrupted; nothing was installed' in err, err
    assert left(tmp_path / 'data') == []                            # no data/lspet, no staging folder, no .part file
    with serve(tmp_path) as url:                                   # and the next try works
        assert run(capsys, 'data', 'lspet', '--to', tmp_path / 'data', '--from', f'{url}/lspet_dataset.zip')[0] == 0


def test_http_error_and_existing_folder(tmp_path, capsys):
    with serve(tmp_path) as url: code, out, err = run(capsys, 'data', 'lspet', '--to', tmp_path / 'data', '--from', f'{url}/gone.zip')
    assert code == 2 and f'cannot download {url}/gone.zip: HTTP 404' in err
    (tmp_path / 'data' / 'lspet').mkdir(parents=True)
    code, out, err = run(capsys, 'data', 'lspet', '--to', tmp_path / 'data', '--from', lsp_zip(tmp_path / 'l.zip'))
    assert code == 2 and 'data/lspet already exists; remove it to fetch lspet again, or pass another --to' in err


def test_documented_url_is_the_default(tmp_path, capsys, monkeypatch):
    lsp_zip(tmp_path / 'lspet_dataset.zip', top='lspet_dataset/')
    with serve(tmp_path) as url:
        monkeypatch.setitem(ds.DATASETS, 'lspet', dataclasses.replace(ds.DATASETS['lspet'], urls=(f'{url}/lspet_dataset.zip',)))
        code, out, err = run(capsys, 'data', 'lspet', '--to', tmp_path / 'data')
    assert code == 0 and 'from lspet_dataset.zip' in out, err


def test_ctrl_c_leaves_nothing(tmp_path, monkeypatch):
    def stop(*a): raise KeyboardInterrupt
    monkeypatch.setitem(ds._PLACE, 'lspet', stop)
    with pytest.raises(KeyboardInterrupt): ds.get_dataset('lspet', tmp_path / 'data', [str(lsp_zip(tmp_path / 'l.zip'))])
    assert left(tmp_path / 'data') == []


# --- MPII and COCO ---------------------------------------------------------------------------------------------------

def images_zip(path, folder: str, names) -> Path:
    "A zip of sample images under `folder/`, renamed to `names`."
    with zipfile.ZipFile(path, 'w') as z:
        for f, n in zip(IMGS, names): z.write(f, f'{folder}/{n}')
    return Path(path)


def mpii_json(path, names) -> Path:
    "pytorch-pose's mpii_annotations.json layout, one person per image, gzipped when the name says so."
    person = lambda n, i: dict(img_paths=n, objpos=[100., 120.], scale_provided=1.2, isValidation=float(i % 2), annolist_index=i, people_index=1,
                               joint_self=[[60. + 5 * j, 40. + 12 * j, 1.] for j in range(16)])
    text = json.dumps([person(n, i) for i, n in enumerate(names)])
    Path(path).write_bytes(gzip.compress(text.encode()) if str(path).endswith('.gz') else text.encode())
    return Path(path)


def test_mpii_images_and_annotations(tmp_path, capsys):
    names = [f'{i:09d}.jpg' for i in range(5)]
    imgs, ann = images_zip(tmp_path / 'mpii_human_pose_v1.zip', 'images', names), mpii_json(tmp_path / 'mpii_annotations.json', names)
    with serve(tmp_path) as url:
        code, out, err = run(capsys, 'data', 'mpii', '--to', tmp_path / 'data', '--from', imgs, '--from', f'{url}/mpii_annotations.json')
    assert code == 0, err
    d = tmp_path / 'data' / 'mpii'
    assert left(d) == ['annotations', 'images'] and 'annotations/mpii_annotations.json: 5 people, 16 joints' in out
    assert len(read_mpii(d / 'annotations' / 'mpii_annotations.json', d / 'images', split='val')) == 2
    mpii_json(tmp_path / 'more.json.gz', names + ['999999999.jpg'])
    code, out, err = run(capsys, 'data', 'mpii', '--to', tmp_path / 'd2', '--from', imgs, '--from', tmp_path / 'more.json.gz')
    assert code == 2 and "more.json.gz names 1 images that the archives do not hold, e.g. ['999999999.jpg']" in err and left(tmp_path / 'd2') == []


def coco_zip(path, names, extra=()) -> Path:
    "An annotations archive with person_keypoints_val2017.json (two people in the first image) and an instances file."
    kps = [v for j in range(17) for v in (20. + 4 * j, 30. + 9 * j, 2)]
    data = dict(images=[dict(id=i, file_name=n) for i, n in enumerate(list(names) + list(extra))],
                annotations=[dict(id=10 + k, image_id=0, bbox=[10, 20, 80, 160], num_keypoints=17, iscrowd=0, keypoints=kps) for k in range(2)])
    with zipfile.ZipFile(path, 'w') as z:
        z.writestr('annotations/person_keypoints_val2017.json', json.dumps(data)); z.writestr('annotations/instances_val2017.json', '{}')
    return Path(path)


def test_coco_annotations_and_val_images(tmp_path, capsys):
    names = [f'{i:012d}.jpg' for i in range(4)]
    anns, imgs = coco_zip(tmp_path / 'annotations_small.zip', names), images_zip(tmp_path / 'val_small.zip', 'val2017', names)
    code, out, err = run(capsys, 'data', 'coco', '--to', tmp_path / 'data', '--from', anns, '--from', imgs)
    assert code == 0, err
    d = tmp_path / 'data' / 'coco'
    assert left(d) == ['annotations', 'val2017'] and left(d / 'annotations') == ['person_keypoints_val2017.json']
    assert 'val2017/: 4 images' in out and 'person_keypoints_val2017.json: 2 people with keypoints' in out
    assert len(read_coco(d / 'annotations' / 'person_keypoints_val2017.json', d / 'val2017')) == 2
    code, out, err = run(capsys, 'data', 'coco', '--to', tmp_path / 'd2', '--from', coco_zip(tmp_path / 'a2.zip', names, ['x.jpg']), '--from', imgs)
    assert code == 2 and "names 1 images that the archives do not hold, e.g. ['x.jpg']" in err
    code, out, err = run(capsys, 'data', 'coco', '--to', tmp_path / 'd3', '--from', anns)
    assert code == 2 and "none of the image folders ['val2017/']: pass the image archive too" in err


def test_coco_archives_are_checked_against_the_published_sha1(tmp_path, capsys):
    names = [f'{i:012d}.jpg' for i in range(4)]
    fake = images_zip(tmp_path / 'val2017.zip', 'val2017', names)     # the release's name, not its content
    code, out, err = run(capsys, 'data', 'coco', '--to', tmp_path / 'data', '--from', coco_zip(tmp_path / 'a.zip', names), '--from', fake)
    sha1 = hashlib.sha1(fake.read_bytes()).hexdigest()
    assert code == 2 and f'val2017.zip: sha1 {sha1} is not the published 4950dc9d00dbe1c933ee0170f5797584351d2a41' in err
    assert left(tmp_path / 'data') == []


# --- the real data ---------------------------------------------------------------------------------------------------

@need_lspet
def test_a_subset_of_the_real_lspet(tmp_path, capsys):
    imgs = sorted((LSPET / 'images').glob('*.jpg'))[:200]
    j = sio.loadmat(LSPET / 'joints.mat')['joints'][:, :, :200]
    code, out, err = run(capsys, 'data', 'lspet', '--to', tmp_path / 'data', '--from', lsp_zip(tmp_path / 'lspet200.zip', j, imgs, 'lspet_dataset/'))
    assert code == 0 and 'images/: 200 images (im00001.jpg .. im00200.jpg)' in out, err
    assert len(read_lsp(tmp_path / 'data' / 'lspet')) == 200


@need_lspet
def test_the_checksum_names_our_copy_of_lspet():
    h = hashlib.sha256((LSPET / 'joints.mat').read_bytes()).hexdigest()
    n = sio.loadmat(LSPET / 'joints.mat')['joints'].shape[2]
    assert n in (8000, 10_000)
    if n == 8000: assert 'not the release' in ds.DATASETS['lspet'].known[h]   # ../shared/data/lspet: images 1-8,000, re-saved
