#!/usr/bin/python3
"""Checks the java-shm client's hand-written protobuf code against python3-protobuf, using the
modules python-grpc/gen.sh generated. Prints "codec: ok" or the first difference; exit 1 on one."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python-grpc", "gen"))
from jex.v1 import usercode_pb2 as pb  # noqa: E402


def java(*args):
    return subprocess.run(["java", "-cp", os.path.join(HERE, "build", "classes"),
                           "io.jex.interop.shm.CodecCheck", *args],
                          check=True, capture_output=True, text=True).stdout.splitlines()


def main():
    enc = java("encode")
    want = [
        pb.MemberMessage(init=pb.Init(protocol_version=1, token="tök", job_id="interop-java-shm",
                                      job_name="interop", stage_name="java-shm",
                                      function="throwOnDemand", key_format=pb.FORMAT_TEXT,
                                      value_format=pb.FORMAT_TEXT,
                                      log_level=pb.LOG_LEVEL_INFORMATION, max_in_flight=4)),
        pb.MemberMessage(batch=pb.Batch(id=1 << 40, deadline_ms=60000, items=[
            pb.Item(key=b"k", value=b"\x00\xff", timestamp_ms=-5, partition=-1, sequence=7),
            pb.Item()])),
        pb.MemberMessage(drain=pb.Drain()),
    ]
    for got_hex, w in zip(enc, want, strict=True):
        got = pb.MemberMessage.FromString(bytes.fromhex(got_hex))
        if got != w:
            print(f"codec: Java encoded {got} expected {w}")
            return 1
        if bytes.fromhex(got_hex) != w.SerializeToString():
            print(f"codec: Java bytes {got_hex} differ from protobuf's {w.SerializeToString().hex()}")
            return 1
    msgs = [
        pb.RuntimeMessage(ready=pb.Ready(runtime_version="1.0", pid=42,
                                         signature=pb.FunctionSignature(name="identity"),
                                         capabilities=["x"], limits=pb.Limits(max_message_bytes=1 << 20))),
        pb.RuntimeMessage(result=pb.BatchResult(batch_id=9, elapsed_us=5, results=[
            pb.ItemResult(ok=pb.Outputs(outputs=[pb.Output(key=b"a", value=b"\x01")])),
            pb.ItemResult(ok=pb.Outputs()),
            pb.ItemResult(error=pb.ItemError(code=1, type="System.X", message="m", stack="s"))])),
        pb.RuntimeMessage(log=pb.Log(level=3, category="c", message="hi", batch_id=5)),
        pb.RuntimeMessage(log=pb.Log(level=4, category="c", message="no batch")),
        pb.RuntimeMessage(drained=pb.Drained(batches=3, items=1000)),
        pb.RuntimeMessage(closed=pb.SessionClosed(code=7, message="bad token")),
        pb.RuntimeMessage(error=pb.ProtocolError(code=1, message="dup", batch_id=2, fatal=True)),
    ]
    got = java("decode", *[m.SerializeToString().hex() for m in msgs])
    expected = [
        "READY Ready[runtimeVersion=1.0, pid=42, functionName=identity, maxMessageBytes=1048576]",
        "RESULT 9 ok[61:01;] ok[] err[1,System.X]",
        "LOG Log[level=3, category=c, message=hi, batchId=5]",
        "LOG Log[level=4, category=c, message=no batch, batchId=0]",
        "DRAINED Drained[batches=3, items=1000]",
        "CLOSED Closed[code=7, message=bad token]",
        "ERROR ProtocolError[code=1, message=dup, fatal=true]",
    ]
    for g, e in zip(got, expected, strict=True):
        if g != e:
            print(f"codec: Java decoded '{g}', expected '{e}'")
            return 1
    print(f"codec: ok ({len(want)} encoded, {len(msgs)} decoded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
