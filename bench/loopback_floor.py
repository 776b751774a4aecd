#!/usr/bin/python3
"""bench/loopback_floor.py [CONNS] [ROUNDS] — the kernel's own cost of a
fan-out: one process send()s a 300-byte message to each of CONNS loopback TCP
sockets per round (a forked reader drains them), and reports the sender's
system and user CPU per send(). No WebSocket server can deliver a message to
a socket for less CPU than this floor on the same machine."""
import os, resource, selectors, socket, sys, time

C = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(C + 10)
port = srv.getsockname()[1]
pid = os.fork()
if pid == 0:
    sel = selectors.DefaultSelector()
    for _ in range(C):
        c = socket.create_connection(("127.0.0.1", port)); c.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    left = C
    while left:
        for key, _ in sel.select():
            try:
                d = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            if not d:
                sel.unregister(key.fileobj); left -= 1
    os._exit(0)
accepted = []
for _ in range(C):
    a, _ = srv.accept(); a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); accepted.append(a)
msg = b"x" * 300
r0 = resource.getrusage(resource.RUSAGE_SELF)
for _ in range(ROUNDS):
    for a in accepted:
        a.send(msg)
    time.sleep(0.02)  # 50 broadcasts/s, as in the fan-out benchmark
r1 = resource.getrusage(resource.RUSAGE_SELF)
n = C * ROUNDS
print(f"loopback floor: {C} sockets x {ROUNDS} rounds: kernel {(r1.ru_stime - r0.ru_stime) / n * 1e6:.2f} us "
      f"+ user {(r1.ru_utime - r0.ru_utime) / n * 1e6:.2f} us per send()")
for a in accepted:
    a.close()
os.wait()
