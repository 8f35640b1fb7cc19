#!/usr/bin/python3
"""cri.py - a minimal client of Kubernetes' CRI (runtime.v1), what the kubelet sends, for tests.

    cri.py SOCKET version
    cri.py SOCKET pull IMAGE                        prints the image reference
    cri.py SOCKET runp POD HANDLER                  prints the pod sandbox id
    cri.py SOCKET podip POD_ID                      prints the pod's IP
    cri.py SOCKET create POD_ID POD IMAGE NAME CMD...  prints the container id
    cri.py SOCKET start|rm ID
    cri.py SOCKET status ID                         prints "STATE EXIT_CODE"
    cri.py SOCKET exec ID CMD...                    prints stdout, exits with the status
    cri.py SOCKET stop ID SECONDS
    cri.py SOCKET stopp|rmp POD_ID

The kubelet's gRPC calls on containerd's socket, with the messages encoded here by hand (field
numbers of k8s.io/cri-api's pkg/apis/runtime/v1/api.proto): Debian packages grpcio but not the
CRI's generated code. POD names the pod; its sandbox config (hostname POD, log directory
$CRI_LOGDIR/POD) is the same for runp and create, as the kubelet sends it. Errors: the gRPC
status on stderr, exit 2.
"""
import os
import sys

import grpc

RUNTIME = "/runtime.v1.RuntimeService/"
IMAGE = "/runtime.v1.ImageService/"
STATES = {0: "CREATED", 1: "RUNNING", 2: "EXITED", 3: "UNKNOWN"}


# ---- protobuf, the few wire types the CRI uses here ----

def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, value):
    """One field: bytes/str/nested message (length-delimited), or int/bool (varint)."""
    if isinstance(value, bool) or isinstance(value, int):
        return varint(num << 3) + varint(int(value))
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def msg(*fields):
    """Concatenate (num, value) pairs; None values are left out, lists repeat the field."""
    out = b""
    for num, value in fields:
        for v in value if isinstance(value, list) else [value]:
            if v is not None:
                out += field(num, v)
    return out


def decode(data):
    """{field number: [values]}: varints as int, length-delimited as bytes."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(data, i)
        elif wt == 2:
            n, i = read_varint(data, i)
            v, i = data[i:i + n], i + n
        elif wt == 1:
            v, i = data[i:i + 8], i + 8
        elif wt == 5:
            v, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def first(d, num, default=None):
    return d.get(num, [default])[0]


def text(d, num):
    v = first(d, num, b"")
    return v.decode(errors="replace")


# ---- the messages ----

def sandbox_config(pod):
    logdir = os.path.join(os.environ.get("CRI_LOGDIR", "/tmp"), pod)
    os.makedirs(logdir, exist_ok=True)
    metadata = msg((1, pod), (2, pod + "-uid"), (3, "default"), (4, 0))
    return msg((1, metadata), (2, pod), (3, logdir))


def call(channel, path, request):
    method = channel.unary_unary(path, request_serializer=lambda b: b,
                                 response_deserializer=lambda b: b)
    return decode(method(request, timeout=120))


def main(argv):
    sock, cmd, args = argv[1], argv[2], argv[3:]
    ch = grpc.insecure_channel("unix://" + sock)
    if cmd == "version":
        r = call(ch, RUNTIME + "Version", msg((1, "v1")))
        print(text(r, 2), text(r, 3), text(r, 4))
    elif cmd == "pull":
        r = call(ch, IMAGE + "PullImage", msg((1, msg((1, args[0])))))
        print(text(r, 1))
    elif cmd == "runp":
        r = call(ch, RUNTIME + "RunPodSandbox", msg((1, sandbox_config(args[0])), (2, args[1])))
        print(text(r, 1))
    elif cmd == "podip":
        r = call(ch, RUNTIME + "PodSandboxStatus", msg((1, args[0])))
        status = decode(first(r, 1, b""))
        print(text(decode(first(status, 5, b"")), 1))
    elif cmd == "create":
        pod_id, pod, image, name, command = args[0], args[1], args[2], args[3], args[4:]
        config = msg((1, msg((1, name), (2, 0))), (2, msg((1, image))), (3, command),
                     (11, name + ".log"))
        r = call(ch, RUNTIME + "CreateContainer",
                 msg((1, pod_id), (2, config), (3, sandbox_config(pod))))
        print(text(r, 1))
    elif cmd in ("start", "rm"):
        call(ch, RUNTIME + ("StartContainer" if cmd == "start" else "RemoveContainer"),
             msg((1, args[0])))
    elif cmd == "status":
        r = call(ch, RUNTIME + "ContainerStatus", msg((1, args[0])))
        status = decode(first(r, 1, b""))
        print(STATES.get(first(status, 3, 0), "?"), first(status, 7, 0))
    elif cmd == "exec":
        r = call(ch, RUNTIME + "ExecSync", msg((1, args[0]), (2, args[1:]), (3, 60)))
        sys.stdout.write(text(r, 1))
        sys.stderr.write(text(r, 2))
        return first(r, 3, 0) & 0xFF
    elif cmd == "stop":
        call(ch, RUNTIME + "StopContainer", msg((1, args[0]), (2, int(args[1]))))
    elif cmd in ("stopp", "rmp"):
        call(ch, RUNTIME + ("StopPodSandbox" if cmd == "stopp" else "RemovePodSandbox"),
             msg((1, args[0])))
    else:
        print("cri.py: unknown command " + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except grpc.RpcError as e:
        print("cri.py: %s: %s" % (e.code().name, e.details()), file=sys.stderr)
        sys.exit(2)
