#!/usr/bin/env python3
"""Reads svcard's XML the way a PyEZ table or an Ansible playbook does: by Junos element
names, with xml.etree, nothing svcard-specific. Arguments: the files of
`show security flow session summary | display xml` and `show security flow session |
display xml`. Prints one line per value: `summary NAME VALUE`, then per flow of each
session `flow ID STATE DIRECTION SRC SPORT DST DPORT PROTOCOL INTERFACE PACKETS BYTES`.
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


summary = ET.parse(sys.argv[1]).getroot()
names = [
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
out = {"summary": {}}
for n in names:
    values = [int((e.text or "0").strip()) for e in find_all(summary, n)]
    out["summary"][n] = sum(values)

sessions = ET.parse(sys.argv[2]).getroot()
out["sessions"] = []
for s in find_all(sessions, "flow-session"):
    flows = []
    for f in s:
        if local(f.tag) != "flow-information":
            continue
        flows.append(
            {
                "direction": text(f, "direction"),
                "source": text(f, "source-address"),
                "source_port": text(f, "source-port"),
                "destination": text(f, "destination-address"),
                "destination_port": text(f, "destination-port"),
                "protocol": text(f, "protocol"),
                "interface": text(f, "interface-name"),
                "packets": int(text(f, "pkt-cnt") or -1),
                "bytes": int(text(f, "byte-cnt") or -1),
            }
        )
    out["sessions"].append(
        {
            "id": int(text(s, "session-identifier")),
            "state": text(s, "sess-state"),
            "policy": text(s, "policy"),
            "timeout": int(text(s, "timeout")),
            "flows": flows,
        }
    )
for n, v in out["summary"].items():
    print("summary", n, v)
for s in out["sessions"]:
    for f in s["flows"]:
        print(
            "flow", s["id"], s["state"], f["direction"], f["source"], f["source_port"],
            f["destination"], f["destination_port"], f["protocol"], f["interface"],
            f["packets"], f["bytes"],
        )
