"""Lay a checkout out as the installed package (like docs/hooks copy_package_tree) into DEST."""
import shutil, sys, tomllib
from pathlib import Path
root, dest = Path(sys.argv[1]), Path(sys.argv[2])
shutil.rmtree(dest, ignore_errors=True)
pd = tomllib.load(open(root / "pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"]
for pkg, folder in sorted(pd.items(), key=lambda kv: kv[0].count(".")):
    shutil.copytree(root / folder, dest.joinpath(*pkg.split(".")), dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
