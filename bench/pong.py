#!/usr/bin/env python3
# bench/pong.py PORT LIMIT - wait for +PONG from redis on 127.0.0.1:PORT (bench/run,
# bench/runtime): a fresh connection every 5 ms, each given LIMIT seconds. The limit matters:
# a SYN that reaches the VM before its eth0 is up is lost, and TCP retries it only about
# 1 s later, so a client that waits on its first connection sees the service late.
# Exits 0 on PONG, 1 after 120 s.
import socket, sys, time
port, deadline = int(sys.argv[1]), time.monotonic() + 120
limit = float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=limit) as s:
            s.sendall(b"PING\r\n")
            if s.recv(64).startswith(b"+PONG"):
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.005)
sys.exit(1)
