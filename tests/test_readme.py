"README.md is the markdown of nbs/index.ipynb, and .ci/run runs the README's test command."
import os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_matches_index():
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'sync_readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r'```sh\n(.*?)```', (ROOT / 'README.md').read_text(), flags=re.S)
    test_cmd = next(b.strip() for b in blocks if 'nbdev-test' in b)
    assert test_cmd in (ROOT / '.ci' / 'run').read_text().splitlines()


def test_sync_readme_check_fails_when_out_of_step(tmp_path):
    (tmp_path / 'README.md').write_text('# stale\n')
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'sync_readme.py'), '--check', '--readme', str(tmp_path / 'README.md')],
                       capture_output=True, text=True)
    assert r.returncode == 1 and 'out of step' in r.stderr


def test_python_api_example_runs(tmp_path):
    code = re.search(r'```python\n(.*?)```', (ROOT / 'README.md').read_text(), flags=re.S)[1]
    code = code.replace("'runs/api", repr(str(tmp_path / 'api'))[:-1])             # train into a temporary folder
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.splitlines()[0].startswith('head_top [') and r.stdout.splitlines()[-1] == 'True'
