import re, subprocess, sys
from pathlib import Path
R = Path(sys.argv[1])
top = {p.stem for p in (R/"harness").iterdir() if p.suffix == ".py" or (p.is_dir() and (p/"__init__.py").exists())}
files = subprocess.run(["git","ls-files"],cwd=R,capture_output=True,text=True).stdout.split()
for f in files:
    if f.startswith(("results/", "tools/")): continue
    try: s=(R/f).read_text()
    except Exception: continue
    for i,line in enumerate(s.splitlines(),1):
        for m in re.finditer(r"negbench\.harness\.([a-z_0-9]+)", line):
            if m.group(1) not in top: print(f"{f}:{i}: {line.strip()[:120]}")
        for m in re.finditer(r"(?<![\w/])harness/([a-z_0-9]+)(\.py|/)", line):
            name=m.group(1)
            if not (R/"harness"/(name+m.group(2).rstrip('/'))).exists() and not (R/"harness"/name).exists():
                print(f"{f}:{i}: PATH {line.strip()[:120]}")
