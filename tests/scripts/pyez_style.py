#!/usr/bin/env python3
"""Reads svcard's XML the way a PyEZ table or an Ansible playbook does: by Junos element
names, with xml.etree, nothing svcard-specific. Arguments: files of `show security flow
session summary | display xml`, `show security flow session | display xml` or `show
security flow gate | display xml`, each read for what it holds. Prints one line per value:
`summary NAME VALUE`; per flow of each session `flow ID STATE DIRECTION SRC SPORT DST
DPORT PROTOCOL INTERFACE PACKETS BYTES`; `gates NAME VALUE` (the gate counts) and per
gate `gate SRC SPORT DST DPORT PROTOCOL APPLICATION REFERENCES`.
"""
import sys
import xml.etree.ElementTree as ET


def local(tag):
    return tag.rsplit("}", 1)[-1]


def find_all(node, name):
    return [e for e in node.iter() if local(e.tag) == name]


def text(node, name):
    for e in node:
        if local(e.tag) == name:
            return (e.text or "").strip()
    return None


SUMMARY = [
    "active-unicast-sessions",
    "active-multicast-sessions",
    "active-services-offload-sessions",
    "failed-sessions",
    "active-drop-sessions",
    "active-sessions",
    "active-session-valid",
    "active-session-pending",
    "active-session-invalidated",
    "active-session-other",
    "max-sessions",
]
GATE_COUNTS = [
    "displayed-gate-valid",
    "displayed-gate-pending",
    "displayed-gate-invalidated",
    "displayed-gate-other",
    "displayed-gate-count",
]


def sums(root, names):
    """Each count summed over the sections (one per SPU, or per worker)."""
    return {n: sum(int((e.text or "0").strip()) for e in find_all(root, n)) for n in names}


def sessions(root):
    for s in find_all(root, "flow-session"):
        for f in s:
            if local(f.tag) != "flow-information":
                continue
            print(
                "flow", int(text(s, "session-identifier")), text(s, "sess-state"),
                text(f, "direction"), text(f, "source-address"), text(f, "source-port"),
                text(f, "destination-address"), text(f, "destination-port"),
                text(f, "protocol"), text(f, "interface-name"),
                int(text(f, "pkt-cnt") or -1), int(text(f, "byte-cnt") or -1),
            )


def gates(root):
    for g in find_all(root, "flow-gate"):
        print(
            "gate", text(g, "source-address"), text(g, "source-port-low"),
            text(g, "destination-address"), text(g, "destination-port-low"),
            text(g, "protocol"), text(g, "application-name").replace(" ", "_"),
            int(text(g, "reference-count")),
        )


for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    if find_all(root, "flow-gate-information"):
        for n, v in sums(root, GATE_COUNTS).items():
            print("gates", n, v)
        gates(root)
    elif any(find_all(root, n) for n in SUMMARY):
        for n, v in sums(root, SUMMARY).items():
            print("summary", n, v)
    else:
        sessions(root)
