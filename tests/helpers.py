"What several test files share: running the `mss_pose` command in-process."
from mss_pose.cli import main


def run(capsys, *argv):
    "Exit status, stdout and stderr of `mss_pose ARGV`, run in this process."
    try: code = main([str(a) for a in argv])
    except SystemExit as e: code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err
