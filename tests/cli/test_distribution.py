"""The package as pip builds it: distribution ``rome-sql`` ("rome" on PyPI is an unrelated project),
import name ``rome``, the ``rome`` command and the ``rome+`` SQLAlchemy URLs."""
import configparser
import os
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_wheel_is_rome_sql_with_import_name_and_command_rome(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", ROOT, "-w", str(tmp_path)],
                       capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    (wheel,) = [f for f in os.listdir(tmp_path) if f.endswith(".whl")]
    assert wheel.startswith("rome_sql-")
    with zipfile.ZipFile(tmp_path / wheel) as z:
        names = z.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        meta = z.read(info + "/METADATA").decode()
        entry_points = configparser.ConfigParser()
        entry_points.read_string(z.read(info + "/entry_points.txt").decode())
    assert "\nName: rome-sql\n" in meta
    assert "Requires-Dist: rome-sql[glance,test]; extra == \"glance-test\"" in meta
    assert {n.split("/")[0] for n in names} == {"rome", info}
    assert entry_points["console_scripts"]["rome"] == "rome.cli:main"
    assert entry_points["sqlalchemy.dialects"]["rome.lmdb"] == "rome.dialect.lmdb:RomeDialect_lmdb"


def test_version_option():
    from rome.version import VERSION
    r = subprocess.run([sys.executable, "-m", "rome.cli", "--version"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "rome, version %s" % VERSION
