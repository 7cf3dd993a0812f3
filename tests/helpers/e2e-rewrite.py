#!/usr/bin/python3
"""Rewrites a manifest for the end-to-end test: every container's image becomes the demo image
with imagePullPolicy Never. Pods, PodLists and Lists, multi-document; anything else is kept.
    e2e-rewrite.py IN OUT"""
import sys

import yaml


def fix_pod(pod):
    spec = pod.get("spec") if isinstance(pod, dict) else None
    if not isinstance(spec, dict):
        return
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


with open(sys.argv[1]) as f:
    docs = [fix(d) for d in yaml.safe_load_all(f)]
with open(sys.argv[2], "w") as f:
    yaml.safe_dump_all(docs, f, sort_keys=False)
