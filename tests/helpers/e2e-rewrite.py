#!/usr/bin/python3
"""Rewrites manifests for the end-to-end test (tests/test-e2e-vm.c): every container's image
becomes the demo image with imagePullPolicy Never, and terminationGracePeriodSeconds is 1:
the test removes every pod, and a container whose PID 1 ignores SIGTERM (a bare sleep, or a
shell that has not reached its trap yet under emulation) would take the default 30 s. Pods, PodLists and Lists, multi-document;
anything else is kept. Run once at build time, since python is slow in the emulated VM.
    e2e-rewrite.py OUTDIR IN...      (OUTDIR/<basename of IN> for each IN)"""
import os
import sys

import yaml


def fix_pod(pod):
    spec = pod.get("spec") if isinstance(pod, dict) else None
    if not isinstance(spec, dict):
        return
    spec["terminationGracePeriodSeconds"] = 1
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                c["image"] = "qoslet-demo:latest"
                c["imagePullPolicy"] = "Never"


def fix(doc):
    if not isinstance(doc, dict):
        return doc
    if doc.get("kind") in ("PodList", "List"):
        for item in doc.get("items") or []:
            fix_pod(item)
    else:
        fix_pod(doc)
    return doc


out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
for path in sys.argv[2:]:
    with open(path) as f:
        docs = [fix(d) for d in yaml.safe_load_all(f)]
    with open(os.path.join(out_dir, os.path.basename(path)), "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)
