#!/usr/bin/env python3
"""Prints tokio-console WatchUpdates messages as grpcurl does, from a small scenario description.

The messages are built from console.proto (console-api's field names and numbers), compiled at run time with
grpc_tools.protoc, and printed by protobuf's own JSON printer (json_format.MessageToJson): pretty objects one after
another (grpcurl's default), or one compact object per line.

Usage: make_updates.py SCENARIO.json [--framing pretty|lines] [--emit-defaults]

Scenario (JSON). Times are integer nanoseconds after "base"; ids are integers:
{
  "base": "2025-03-14T09:26:50Z",
  "updates": [
    {
      "now": 3000000000,
      "new_tasks": [
        {"span": 2251799813685249, "task_id": 1, "name": "", "kind": "task",
         "location": {"file": "src/main.rs", "line": 41, "column": 5}}        # no "location": none
      ],
      "stats": {
        "2251799813685249": {"created": 0, "dropped": 1, "wakes": 1, "waker_clones": 1, "waker_drops": 1,
                             "self_wakes": 0, "last_wake": 5, "polls": 2, "first_poll": 2,
                             "last_poll_started": 6, "last_poll_ended": 7, "busy": 3, "scheduled": 4}
      },
      "dropped_events": 3,
      "metadata": true                       # also register the runtime.spawn callsite (newMetadata)
    }
  ]
}
Absent counters and timestamps are left unset, as console-subscriber leaves them; pollStats, busyTime and
scheduledTime are always set, as console-subscriber does.
"""

import argparse
import importlib
import importlib.resources
import json
import os
import sys
import tempfile

SPAWN_METADATA_ID = 94245032345600
SPAWN_FIELDS = ["kind", "task.name", "task.id", "original_size.bytes", "size.bytes", "loc.file", "loc.line", "loc.col"]
TRACE_RS = "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.47.1/src/util/trace.rs"


def compile_proto(out):
    """Compiles console.proto into the folder `out` and imports it."""
    from grpc_tools import protoc

    here = os.path.dirname(os.path.abspath(__file__))
    well_known = str(importlib.resources.files("grpc_tools") / "_proto")
    status = protoc.main(["protoc", f"-I{here}", f"-I{well_known}", f"--python_out={out}", "console.proto"])
    if status != 0:
        sys.exit(f"make_updates.py: protoc failed on console.proto (status {status})")
    sys.path.insert(0, out)
    return importlib.import_module("console_pb2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--framing", choices=["pretty", "lines"], default="pretty")
    parser.add_argument("--emit-defaults", action="store_true", help="print default values too (grpcurl -emit-defaults)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profhist-console-proto-") as out:
        pb = compile_proto(out)
        print_updates(pb, args)


def print_updates(pb, args):
    from google.protobuf import json_format, timestamp_pb2

    with open(args.scenario) as f:
        scenario = json.load(f)
    base = timestamp_pb2.Timestamp()
    base.FromJsonString(scenario.get("base", "2025-03-14T09:26:50Z"))
    base_ns = base.ToNanoseconds()

    def at(field, ns):
        field.FromNanoseconds(base_ns + int(ns))

    for spec in scenario["updates"]:
        update = pb.Update()
        if "now" in spec:
            at(update.now, spec["now"])
        task_update = update.task_update
        for task in spec.get("new_tasks", []):
            t = task_update.new_tasks.add()
            t.id.id = int(task["span"])
            t.metadata.id = SPAWN_METADATA_ID
            for name, kind, value in [
                ("kind", "debug_val", task.get("kind", "task")),
                ("task.name", "debug_val", task.get("name", "")),
                ("task.id", "u64_val", task.get("task_id")),
                ("size.bytes", "u64_val", task.get("size", 1216)),
            ]:
                if value is None:
                    continue
                field = t.fields.add()
                field.str_name = name
                setattr(field, kind, value)
                field.metadata_id.id = SPAWN_METADATA_ID
            location = task.get("location")
            if location is not None:
                for key in ("file", "line", "column"):
                    if key in location:
                        setattr(t.location, key, location[key])
        for key, s in spec.get("stats", {}).items():
            stats = task_update.stats_update[int(key)]
            if "created" in s:
                at(stats.created_at, s["created"])
            if "dropped" in s:
                at(stats.dropped_at, s["dropped"])
            for name in ("wakes", "waker_clones", "waker_drops", "self_wakes"):
                if name in s:
                    setattr(stats, name, int(s[name]))
            if "last_wake" in s:
                at(stats.last_wake, s["last_wake"])
            poll = stats.poll_stats
            poll.SetInParent()
            poll.polls = int(s.get("polls", 0))
            for name in ("first_poll", "last_poll_started", "last_poll_ended"):
                if name in s:
                    at(getattr(poll, name), s[name])
            poll.busy_time.FromNanoseconds(int(s.get("busy", 0)))
            stats.scheduled_time.FromNanoseconds(int(s.get("scheduled", 0)))
        if "dropped_events" in spec:
            task_update.dropped_events = int(spec["dropped_events"])
        # console-subscriber always sets these (empty when nothing changed).
        update.resource_update.SetInParent()
        update.async_op_update.SetInParent()
        if spec.get("metadata"):
            new = update.new_metadata.metadata.add()
            new.id.id = SPAWN_METADATA_ID
            meta = new.metadata
            meta.name = "runtime.spawn"
            meta.target = "tokio::task"
            meta.location.file = TRACE_RS
            meta.location.module_path = "tokio::util::trace"
            meta.location.line = 69
            meta.level = pb.Metadata.Level.TRACE
            meta.field_names.extend(SPAWN_FIELDS)

        options = {"always_print_fields_with_no_presence": args.emit_defaults}
        if args.framing == "pretty":
            sys.stdout.write(json_format.MessageToJson(update, indent=2, **options) + "\n")
        else:
            sys.stdout.write(json_format.MessageToJson(update, indent=None, **options) + "\n")


if __name__ == "__main__":
    main()
