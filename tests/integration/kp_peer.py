#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An independent keyprovider peer for tests (Debian's python3-grpcio and
python3-protobuf, python3-cryptography): the keyprovider.KeyProviderService
messages are built from a descriptor at run time (no generated code).

  kp_peer.py call ADDR WrapKey|UnWrapKey < request.json > reply.json
  kp_peer.py raw ADDR WrapKey HEX           send raw bytes as the message
  kp_peer.py big ADDR WrapKey N             a request whose JSON field is N bytes
  kp_peer.py many ADDR UnWrapKey N < request.json   N concurrent calls, all must
                                            return the same reply
  kp_peer.py serve --port-file F --kek FILE --log F [--delay S] [--tls-cert C --tls-key K]
      a gRPC attestation-agent-style provider: WrapKey seals optsdata with
      AES-256-GCM under KEK into {kid, wrapped_data, iv, wrap_type} (kid from
      keyid=), UnWrapKey opens it; every request's JSON goes to the log
  kp_peer.py wrapreq PARAMS [--with-others] < optsdata   a WrapKey request as
      Go ocicrypt writes it (--with-others: the other recipients' material
      and private keys ocicrypt forwards to every provider)
  kp_peer.py unwrapreq PACKET-FILE [PARAMS]  an UnWrapKey request
  kp_peer.py reply-bytes wrap|unwrap < reply.json   the decoded result bytes
"""
import base64
import json
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

SERVICE = "keyprovider.KeyProviderService"


def messages():
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = "kp_peer_keyprovider.proto"
    fdp.package = "keyprovider"
    fdp.syntax = "proto3"
    for name in ("keyProviderKeyWrapProtocolInput", "keyProviderKeyWrapProtocolOutput"):
        m = fdp.message_type.add()
        m.name = name
        f = m.field.add()
        f.name = "K" + name[1:]
        f.number = 1
        f.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
        f.label = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = getattr(message_factory, "GetMessageClass", None)
    out = []
    for name in ("keyProviderKeyWrapProtocolInput", "keyProviderKeyWrapProtocolOutput"):
        d = pool.FindMessageTypeByName("keyprovider." + name)
        out.append(get(d) if get else message_factory.MessageFactory(pool).GetPrototype(d))
    return out


In, Out = messages()
FIELD_IN = "KeyProviderKeyWrapProtocolInput"
FIELD_OUT = "KeyProviderKeyWrapProtocolOutput"


def b64(b):
    return base64.b64encode(b).decode()


def stub(addr, method, raw=False):
    ch = grpc.insecure_channel(addr)
    ser = (lambda b: b) if raw else (lambda j: In(**{FIELD_IN: j}).SerializeToString())
    de = lambda b: getattr(Out.FromString(b), FIELD_OUT)
    return ch, ch.unary_unary("/%s/%s" % (SERVICE, method), request_serializer=ser,
                              response_deserializer=de)


def cmd_call(addr, method):
    ch, f = stub(addr, method)
    try:
        sys.stdout.buffer.write(f(sys.stdin.buffer.read(), timeout=30))
    except grpc.RpcError as e:
        print("status %s: %s" % (e.code().name, e.details()), file=sys.stderr)
        return 1
    return 0


def cmd_raw(addr, method, hexbytes):
    ch, f = stub(addr, method, raw=True)
    try:
        f(bytes.fromhex(hexbytes), timeout=30)
    except grpc.RpcError as e:
        print("status %s: %s" % (e.code().name, e.details()), file=sys.stderr)
        return 1
    return 0


def cmd_big(addr, method, n):
    ch, f = stub(addr, method)
    try:
        f(b"{" + b" " * (n - 2) + b"}", timeout=30)
    except grpc.RpcError as e:
        print("status %s: %s" % (e.code().name, e.details()), file=sys.stderr)
        return 1
    return 0


def cmd_many(addr, method, n):
    req = sys.stdin.buffer.read()
    ch, f = stub(addr, method)
    lat = []

    def one(_):
        t = time.monotonic()
        r = f(req, timeout=60)
        lat.append(time.monotonic() - t)
        return r

    t0 = time.monotonic()
    with futures.ThreadPoolExecutor(max_workers=min(n, 64)) as ex:
        results = list(ex.map(one, range(n)))
    wall = time.monotonic() - t0
    if len(set(results)) != 1 or len(results) != n:
        print("replies differ", file=sys.stderr)
        return 1
    lat.sort()
    p99 = lat[min(n - 1, int(n * 0.99))]
    print("%d calls in %.2f s: %.0f/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (n, wall, n / wall, 1000 * lat[n // 2], 1000 * p99, 1000 * lat[-1]), file=sys.stderr)
    sys.stdout.buffer.write(results[0])
    return 0


def bytes_field(v):
    if v is None:
        return b""
    if isinstance(v, list):
        return bytes(v)
    return base64.b64decode(v)


class Provider(grpc.GenericRpcHandler):
    def __init__(self, kek, log, delay):
        self.kek, self.log, self.delay = kek, log, delay

    def service(self, details):
        m = details.method
        if m not in ("/%s/WrapKey" % SERVICE, "/%s/UnWrapKey" % SERVICE):
            return None
        return grpc.unary_unary_rpc_method_handler(
            lambda req, ctx: self.handle(m.rsplit("/", 1)[1], req, ctx),
            request_deserializer=lambda b: getattr(In.FromString(b), FIELD_IN),
            response_serializer=lambda j: Out(**{FIELD_OUT: j}).SerializeToString())

    def handle(self, method, req, ctx):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        import os
        d = json.loads(req)
        with open(self.log, "a") as f:
            f.write(method + " " + json.dumps(d, sort_keys=True) + "\n")
        if self.delay:
            time.sleep(self.delay)
        if method == "WrapKey":
            params = d["keywrapparams"]["ec"]["Parameters"]
            (name, items), = params.items()
            p = base64.b64decode(items[0]).decode()
            kv = dict(x.split("=", 1) for x in p.split("::"))
            if "refuse" in kv:
                ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "the peer refuses: " + kv["refuse"])
            iv = os.urandom(12)
            ct = AESGCM(self.kek).encrypt(iv, bytes_field(d["keywrapparams"]["optsdata"]), None)
            pkt = json.dumps({"kid": kv["keyid"], "wrapped_data": b64(ct), "iv": b64(iv),
                              "wrap_type": "A256GCM"}).encode()
            # the Rust form: an array of byte values
            return json.dumps({"keywrapresults": {"annotation": list(pkt)}}).encode()
        pkt = json.loads(bytes_field(d["keyunwrapparams"]["annotation"]))
        try:
            opts = AESGCM(self.kek).decrypt(base64.b64decode(pkt["iv"]),
                                            base64.b64decode(pkt["wrapped_data"]), None)
        except Exception:
            ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "the peer cannot open the packet")
        return json.dumps({"keywrapresults": {"annotation": None},
                           "keyunwrapresults": {"optsdata": b64(opts)}}).encode()


def cmd_serve(args):
    a = dict(zip(args[::2], args[1::2]))
    kek = open(a["--kek"], "rb").read()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((Provider(kek, a["--log"], float(a.get("--delay", 0))),))
    if "--tls-cert" in a:
        creds = grpc.ssl_server_credentials(
            [(open(a["--tls-key"], "rb").read(), open(a["--tls-cert"], "rb").read())])
        port = server.add_secure_port("127.0.0.1:0", creds)
    else:
        port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with open(a["--port-file"] + ".tmp", "w") as f:
        f.write(str(port))
    import os
    os.rename(a["--port-file"] + ".tmp", a["--port-file"])
    stop = threading.Event()
    import signal
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop(1)
    return 0


def cmd_wrapreq(params, others):
    opts = sys.stdin.buffer.read()
    p = {"attestation-agent": [b64(params.encode())]}
    dcp = {}
    if others:
        p["pubkeys"] = [b64(b"-----BEGIN PUBLIC KEY-----\nOTHER\n")]
        dcp = {"privkeys": [b64(b"PRIVATE-KEY-OF-SOMEONE")], "privkeys-passwords": [None]}
    req = {"op": "keywrap",
           "keywrapparams": {"ec": {"Parameters": p, "DecryptConfig": {"Parameters": dcp}},
                             "optsdata": b64(opts)},
           "keyunwrapparams": {"dc": None, "annotation": None}}
    sys.stdout.write(json.dumps(req, separators=(",", ":")))
    return 0


def cmd_unwrapreq(packet_file, params=None):
    pkt = open(packet_file, "rb").read()
    dp = {"attestation-agent": [b64((params or "Enabled").encode())]}
    req = {"op": "keyunwrap", "keywrapparams": {"ec": None, "optsdata": None},
           "keyunwrapparams": {"dc": {"Parameters": dp}, "annotation": b64(pkt)}}
    sys.stdout.write(json.dumps(req, separators=(",", ":")))
    return 0


def cmd_reply_bytes(kind):
    d = json.loads(sys.stdin.buffer.read())
    v = d["keywrapresults"]["annotation"] if kind == "wrap" else d["keyunwrapresults"]["optsdata"]
    sys.stdout.buffer.write(bytes_field(v))
    return 0


def main(argv):
    cmd = argv[1]
    if cmd == "call":
        return cmd_call(argv[2], argv[3])
    if cmd == "raw":
        return cmd_raw(argv[2], argv[3], argv[4])
    if cmd == "big":
        return cmd_big(argv[2], argv[3], int(argv[4]))
    if cmd == "many":
        return cmd_many(argv[2], argv[3], int(argv[4]))
    if cmd == "serve":
        return cmd_serve(argv[2:])
    if cmd == "wrapreq":
        return cmd_wrapreq(argv[2], "--with-others" in argv[3:])
    if cmd == "unwrapreq":
        return cmd_unwrapreq(argv[2], argv[3] if len(argv) > 3 else None)
    if cmd == "reply-bytes":
        return cmd_reply_bytes(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
