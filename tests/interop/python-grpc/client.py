#!/usr/bin/python3
"""A Jet member's side of Jex sessions on Debian's grpcio 1.51 (HTTP/2, plaintext or TLS).

Runs the interop session plan against a real jex-runtime and prints one line,
"ok (<n> items)", or exits 1 after printing "FAILED <reason>".

Usage: /usr/bin/python3 client.py --address http://127.0.0.1:PORT [--token T] [--items N]
       [--batch N] [--in-flight N]        (the token defaults to $JEX_TOKEN)
       With --address https://HOST:PORT the channel is TLS: --ca PEM trusts the runtime's
       authority; --cert PEM and --key PEM present a client certificate (mutual TLS).
Run gen.sh first: it generates the protocol modules into gen/ (or into $JEX_PY_GEN, given to both).
"""
import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.environ.get("JEX_PY_GEN") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

import grpc  # noqa: E402
from jex.v1 import usercode_pb2 as pb  # noqa: E402
from jex.v1 import usercode_pb2_grpc as pb_grpc  # noqa: E402

POLL_SECONDS = 30
EXCEPTION_TYPE = "System.InvalidOperationException"


class CheckFailed(Exception):
    """A failed check; its text is the reason printed after FAILED."""


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def has_batch_id(log):
    # With proto3 'optional' the field has presence; code generated from a file without it
    # (older protoc) has none, and 0 then means "no batch" (member batch ids start at 1).
    try:
        return log.HasField("batch_id")
    except ValueError:
        return log.batch_id != 0


class Session:
    """One Transform stream. Requests go through a queue-fed iterator; responses are read on a
    thread into an inbox so every wait has a timeout."""

    _END = object()

    def __init__(self, stub, name):
        self.name = name
        self._out = queue.Queue()
        self._inbox = queue.Queue()
        self.end_code = None
        self.end_details = None
        self._call = stub.Transform(self._requests())
        threading.Thread(target=self._read, daemon=True).start()

    def _requests(self):
        while True:
            m = self._out.get()
            if m is self._END:
                return
            yield m

    def _read(self):
        try:
            for m in self._call:
                self._inbox.put(m)
            self._inbox.put((grpc.StatusCode.OK, ""))
        except grpc.RpcError as e:
            self._inbox.put((e.code(), e.details()))

    def send(self, **kind):
        self._out.put(pb.MemberMessage(**kind))

    def half_close(self):
        self._out.put(self._END)

    def next(self):
        """The next runtime message, or None once the stream has ended (see end_code)."""
        if self.end_code is not None:
            return None
        try:
            m = self._inbox.get(timeout=POLL_SECONDS)
        except queue.Empty:
            raise CheckFailed(f"{self.name}: no message from the runtime within {POLL_SECONDS}s")
        if isinstance(m, tuple):
            self.end_code, self.end_details = m
            return None
        return m

    def close(self):
        if self.end_code is None:
            self._call.cancel()
        self.half_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Client:
    def __init__(self, stub, token):
        self.stub = stub
        self.token = token

    def init(self, function, **overrides):
        fields = dict(
            protocol_version=1, token=self.token, job_id="interop-python-grpc",
            job_name="interop", stage_name="python-grpc", function=function,
            key_format=pb.FORMAT_TEXT, value_format=pb.FORMAT_TEXT,
            log_level=pb.LOG_LEVEL_INFORMATION)
        fields.update(overrides)
        return pb.Init(**fields)

    def await_ready(self, s, function):
        while True:
            m = s.next()
            check(m is not None, f"{s.name}: stream ended before Ready: {s.end_code} {s.end_details}")
            kind = m.WhichOneof("kind")
            if kind == "log":
                continue
            check(kind == "ready", f"{s.name}: expected Ready, got {kind}")
            check(m.ready.signature.name == function,
                  f"{s.name}: Ready names function '{m.ready.signature.name}', expected '{function}'")
            check(m.ready.pid > 0, f"{s.name}: Ready has no pid")
            return

    def drain(self, s, batches, items):
        s.send(drain=pb.Drain())
        drained = False
        while True:
            m = s.next()
            if m is None:
                break
            kind = m.WhichOneof("kind")
            if kind == "drained":
                check(not drained, f"{s.name}: two Drained messages")
                check(m.drained.batches == batches and m.drained.items == items,
                      f"{s.name}: Drained says {m.drained.batches} batches/{m.drained.items} items, "
                      f"sent {batches}/{items}")
                drained = True
                # The member half-closes only after Drained: the protocol ends the session.
                s.half_close()
            else:
                check(kind == "log", f"{s.name}: after Drain got {kind}")
        check(drained, f"{s.name}: stream ended without Drained")
        check(s.end_code == grpc.StatusCode.OK,
              f"{s.name}: stream ended with {s.end_code} {s.end_details}")

    def wrong_token_is_refused(self):
        with Session(self.stub, "wrong-token") as s:
            s.send(init=self.init("throwOnDemand", token=self.token + "-wrong"))
            # Sent without waiting for Ready: it must not be processed either.
            s.send(batch=pb.Batch(id=1, items=[pb.Item(key=b"k", value=b"v")]))
            while True:
                m = s.next()
                if m is None:
                    break
                kind = m.WhichOneof("kind")
                check(kind not in ("ready", "result"),
                      f"wrong-token: runtime answered {kind} to a wrong token")
            check(s.end_code == grpc.StatusCode.PERMISSION_DENIED,
                  f"wrong-token: expected PERMISSION_DENIED, got {s.end_code} {s.end_details}")

    @staticmethod
    def item_value(i):
        # Every 37th item (and the very first) is made to throw in user code.
        return ("throw " if i % 37 == 0 else "item ") + str(i)

    def throw_on_demand_session(self, total, batch_size, in_flight):
        """Results may arrive in any batch order; they are checked in batch-id order, and each
        item in input order."""
        fn = "throwOnDemand"
        with Session(self.stub, fn) as s:
            s.send(init=self.init(fn, max_in_flight=in_flight))
            self.await_ready(s, fn)
            batches = (total + batch_size - 1) // batch_size
            results = {}
            sent = outstanding = max_outstanding = 0
            while len(results) < batches:
                while outstanding < in_flight and sent < batches:
                    lo, hi = sent * batch_size, min(total, (sent + 1) * batch_size)
                    items = [pb.Item(key=f"k{i}".encode(), value=self.item_value(i).encode(),
                                     timestamp_ms=1_700_000_000_000 + i, partition=i % 271,
                                     sequence=i) for i in range(lo, hi)]
                    s.send(batch=pb.Batch(id=sent + 1, deadline_ms=60_000, items=items))
                    sent += 1
                    outstanding += 1
                    max_outstanding = max(max_outstanding, outstanding)
                m = s.next()
                check(m is not None, f"{fn}: stream ended with {s.end_code} {s.end_details} "
                                     f"after {len(results)}/{batches} results")
                kind = m.WhichOneof("kind")
                if kind == "result":
                    r = m.result
                    check(1 <= r.batch_id <= sent, f"{fn}: result for unknown batch {r.batch_id}")
                    check(r.batch_id not in results, f"{fn}: two results for batch {r.batch_id}")
                    results[r.batch_id] = r
                    outstanding -= 1
                else:
                    check(kind in ("log", "schemas"), f"{fn}: unexpected {kind}: {m}")
            check(max_outstanding == min(in_flight, batches),
                  f"{fn}: never had {in_flight} batches in flight")
            errors = 0
            for bid in range(1, batches + 1):
                r = results[bid]
                first = (bid - 1) * batch_size
                count = min(total, first + batch_size) - first
                check(len(r.results) == count,
                      f"{fn}: batch {bid} has {len(r.results)} results for {count} items")
                for j, ir in enumerate(r.results):
                    i = first + j
                    where = f"{fn}: item {i} (batch {bid} #{j})"
                    outcome = ir.WhichOneof("outcome")
                    if self.item_value(i).startswith("throw"):
                        check(outcome == "error", f"{where}: expected an ItemError, got {outcome}")
                        e = ir.error
                        check(e.code == pb.ItemError.CODE_USER_EXCEPTION,
                              f"{where}: error code {pb.ItemError.Code.Name(e.code)}")
                        check(e.type == EXCEPTION_TYPE,
                              f"{where}: exception type '{e.type}', expected {EXCEPTION_TYPE}")
                        check(e.message != "", f"{where}: error has no message")
                        errors += 1
                    else:
                        check(outcome == "ok", f"{where}: expected ok, got {outcome} {ir}")
                        check(len(ir.ok.outputs) == 1,
                              f"{where}: {len(ir.ok.outputs)} outputs, expected 1")
                        o = ir.ok.outputs[0]
                        check(o.value == self.item_value(i).encode(),
                              f"{where}: value {o.value!r}, expected '{self.item_value(i)}'")
                        check(o.key == f"k{i}".encode(), f"{where}: key {o.key!r}, expected 'k{i}'")
            check(errors == (total + 36) // 37, f"{fn}: {errors} errors checked")
            self.drain(s, batches, total)
            return total

    def log_session(self):
        """logAndEcho: each item's log line is forwarded with its batch id, before the result."""
        fn = "logAndEcho"
        with Session(self.stub, fn) as s:
            s.send(init=self.init(fn))
            self.await_ready(s, fn)
            batch_id = 7
            values = ["alpha", "beta", "gamma"]
            s.send(batch=pb.Batch(id=batch_id, items=[
                pb.Item(key=f"key-{v}".encode(), value=v.encode()) for v in values]))
            logs, result = [], None
            while result is None:
                m = s.next()
                check(m is not None, f"{fn}: stream ended with {s.end_code} {s.end_details}")
                kind = m.WhichOneof("kind")
                if kind == "log":
                    logs.append(m.log)
                elif kind == "result":
                    result = m.result
                else:
                    check(kind == "schemas", f"{fn}: unexpected {kind}")
            check(result.batch_id == batch_id, f"{fn}: result for batch {result.batch_id}")
            check(len(result.results) == len(values), f"{fn}: {len(result.results)} results")
            for j, ir in enumerate(result.results):
                check(ir.WhichOneof("outcome") == "ok" and len(ir.ok.outputs) == 1
                      and ir.ok.outputs[0].value == values[j].encode(),
                      f"{fn}: item {j} not echoed: {ir}")
            user = [lg for lg in logs if has_batch_id(lg) and lg.batch_id == batch_id]
            check(len(user) >= len(values),
                  f"{fn}: {len(user)} log lines with batch id {batch_id} before its result, "
                  f"expected {len(values)} (all logs: {logs})")
            for lg in user:
                check(lg.level == pb.LOG_LEVEL_INFORMATION,
                      f"{fn}: log level {pb.LogLevel.Name(lg.level)}")
                check(lg.message and lg.category, f"{fn}: log without message or category: {lg}")
            for v in values:
                check(any(v in lg.message for lg in user),
                      f"{fn}: no forwarded log line mentions '{v}': {user}")
            self.drain(s, 1, len(values))
            return len(values)

    def json_session(self):
        """doThingDotnet over JSON: {"value":20} becomes {"value":"__20__"}."""
        fn = "doThingDotnet"
        with Session(self.stub, fn) as s:
            s.send(init=self.init(fn, value_format=pb.FORMAT_JSON))
            self.await_ready(s, fn)
            inputs = [20, -3, 0]
            s.send(batch=pb.Batch(id=1, items=[
                pb.Item(key=f"j{v}".encode(), value=json.dumps({"value": v}).encode())
                for v in inputs]))
            result = None
            while result is None:
                m = s.next()
                check(m is not None, f"{fn}: stream ended with {s.end_code} {s.end_details}")
                kind = m.WhichOneof("kind")
                if kind == "result":
                    result = m.result
                else:
                    check(kind in ("log", "schemas"), f"{fn}: unexpected {kind}")
            check(len(result.results) == len(inputs), f"{fn}: {len(result.results)} results")
            for j, ir in enumerate(result.results):
                check(ir.WhichOneof("outcome") == "ok" and len(ir.ok.outputs) == 1,
                      f"{fn}: item {j}: {ir}")
                got = json.loads(ir.ok.outputs[0].value)
                check(got == {"value": f"__{inputs[j]}__"},
                      f"{fn}: item {j} gave {got}, expected {{'value': '__{inputs[j]}__'}}")
            self.drain(s, 1, len(inputs))
            return len(inputs)


# Hazelcast FieldKind ids and names used by the demo types (see Hazelcast's FieldKind).
FIELD_KIND_NAMES = {9: "INT32", 17: "STRING"}


def jex_data(jex, *args):
    """Runs the project's `jex data` (the codec the vectors tier proves against hazelcast-client)."""
    done = subprocess.run([jex, "data", *args], capture_output=True, text=True, timeout=60)
    check(done.returncode == 0, f"jex data {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def compact_session(client, jex):
    """doThingDotnet over Hazelcast Compact: some-thing{value:int32} -> other-thing{value:string},
    with string keys in Hazelcast form, the input schema sent in-band and the output schema
    received in-band before the result."""
    fn = "doThingDotnet"
    with tempfile.TemporaryDirectory() as tmp:
        some = os.path.join(tmp, "some-thing.json")
        with open(some, "w") as f:
            json.dump([{"typeName": "some-thing", "fields": [{"name": "value", "kind": "INT32"}]}], f)
        inputs = [20, -7, 2147483647]
        keys = [bytes.fromhex(jex_data(jex, "encode", "--as", "string", json.dumps(f"example-key-{v}"))) for v in inputs]
        values = [bytes.fromhex(jex_data(jex, "encode", "--schemas", some, "--as", "compact",
                                        json.dumps({"$type": "some-thing", "value": v}))) for v in inputs]
        schema_id = int.from_bytes(values[0][8:16], "big", signed=True)
        with Session(client.stub, fn + "-compact") as s:
            s.send(init=client.init(fn, key_format=pb.FORMAT_HAZELCAST, value_format=pb.FORMAT_HAZELCAST))
            client.await_ready(s, fn)
            s.send(schemas=pb.Schemas(schemas=[pb.CompactSchema(
                id=schema_id, type_name="some-thing", fields=[pb.CompactField(name="value", kind=9)])]))
            s.send(batch=pb.Batch(id=1, items=[pb.Item(key=k, value=v) for k, v in zip(keys, values)]))
            received, result = [], None
            while result is None:
                m = s.next()
                check(m is not None, f"{fn}: stream ended with {s.end_code} {s.end_details}")
                kind = m.WhichOneof("kind")
                if kind == "schemas":
                    received.extend(m.schemas.schemas)
                elif kind == "result":
                    result = m.result
                else:
                    check(kind == "log", f"{fn}: unexpected {kind}: {m}")
            other = [x for x in received if x.type_name == "other-thing"]
            check(len(other) == 1, f"{fn}: expected the other-thing schema before the result, got {received}")
            other_file = os.path.join(tmp, "other-thing.json")
            with open(other_file, "w") as f:
                json.dump([{"typeName": "other-thing", "fields": [
                    {"name": fd.name, "kind": FIELD_KIND_NAMES.get(fd.kind, str(fd.kind))} for fd in other[0].fields]}], f)
            check(len(result.results) == len(inputs), f"{fn}: {len(result.results)} results")
            for j, ir in enumerate(result.results):
                check(ir.WhichOneof("outcome") == "ok" and len(ir.ok.outputs) == 1, f"{fn}: item {j}: {ir}")
                out = ir.ok.outputs[0]
                check(out.key == keys[j], f"{fn}: item {j}: the output key is not the input key")
                check(out.value_format == pb.FORMAT_HAZELCAST, f"{fn}: item {j}: output format {out.value_format}")
                check(int.from_bytes(out.value[8:16], "big", signed=True) == other[0].id,
                      f"{fn}: item {j}: output schema id is not the announced other-thing id")
                got = json.loads(jex_data(jex, "decode", "--schemas", other_file, out.value.hex()))
                want = {"$type": "other-thing", "value": f"__{inputs[j]}__"}
                check(got == want, f"{fn}: item {j} decoded to {got}, expected {want}")
            client.drain(s, 1, len(inputs))
            return len(inputs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--address", required=True)
    ap.add_argument("--token", default=os.environ.get("JEX_TOKEN"))
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--in-flight", type=int, default=4)
    ap.add_argument("--jex", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "out", "cli", "jex"),
                    help="the jex CLI, for Hazelcast encoding (default: out/cli/jex)")
    ap.add_argument("--ca", help="PEM file of the authority that issued the runtime's TLS certificate")
    ap.add_argument("--cert", help="PEM client certificate (mutual TLS)")
    ap.add_argument("--key", help="PEM key of --cert")
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.address)
    if u.scheme not in ("http", "https") or not u.port or not a.token:
        print(f"FAILED usage: --address http(s)://HOST:PORT and --token T (got {a.address})")
        return 2
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    if u.scheme == "https":
        def read(path):
            if not path:
                return None
            with open(path, "rb") as f:
                return f.read()
        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(a.ca), private_key=read(a.key), certificate_chain=read(a.cert))
        channel = grpc.secure_channel(f"{u.hostname}:{u.port}", credentials, options=options)
    else:
        channel = grpc.insecure_channel(f"{u.hostname}:{u.port}", options=options)
    try:
        c = Client(pb_grpc.UserCodeStub(channel), a.token)
        c.wrong_token_is_refused()
        n = c.throw_on_demand_session(a.items, a.batch, a.in_flight)
        n += c.log_session()
        n += c.json_session()
        n += compact_session(c, a.jex)
        print(f"ok ({n} items)")
        return 0
    except CheckFailed as e:
        print(f"FAILED {e}")
        return 1
    except Exception as e:  # an unexpected failure is still one FAILED line with its cause
        print(f"FAILED {type(e).__name__}: {e}")
        import traceback
        traceback.print_exc()
        return 1
    finally:
        channel.close()


if __name__ == "__main__":
    sys.exit(main())
