#!/usr/bin/env python3
"""Reads an -oX file with python-libnmap and prints what it understood, one fact a line, for
the Rust test (src/output/xml_tests.rs) to compare: the scan's start and host counts, and per
host its state, start and end times, <extraports>, its host scripts and each port's service.

libnmap keeps one <extraports> per host (the last one in the file); that is what it shows.
"""
import sys

from libnmap.parser import NmapParser


def field(value):
    return value if value else "-"


def main(path):
    report = NmapParser.parse_fromfile(path)
    print(
        f"scanner {report._nmaprun.get('scanner')} started {report.started} "
        f"hosts {report.hosts_up}/{report.hosts_total} up"
    )
    for host in report.hosts:
        print(
            f"host {host.address} {host.status} "
            f"start {field(host.starttime)} end {field(host.endtime)}"
        )
        extra = host.extraports_state
        if extra:
            # libnmap stores the element's attributes under both keys.
            attrs = extra["state"]
            reasons = " ".join(
                f"{r['reason']} {r['count']}" for r in host.extraports_reasons or []
            )
            print(f"  extraports {attrs['state']} {attrs['count']} {reasons}")
        for script in host.scripts_results or []:
            print(f"  hostscript {script.get('id')}: {script.get('output')}")
        for svc in host.services:
            product = svc.service_dict.get("product")
            version = svc.service_dict.get("version")
            print(
                f"  {svc.port}/{svc.protocol} {svc.state} {field(svc.service)} "
                f"{field(product)} {field(version)}"
            )


if __name__ == "__main__":
    main(sys.argv[1])
