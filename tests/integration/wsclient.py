"""WebSocket client helpers shared by test_websocket.py, test_ws_fanout.py and
test_shutdown.py (SPEC §11).

pytest-asyncio is not installed: each test is a plain function that runs its
coroutine with `run(...)`, which also bounds it with a timeout so a hung
socket fails the test instead of hanging the suite.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import threading
import time

import websockets

# Everything the server publishes carries these (SPEC §11); heartbeats are
# periodic noise for most assertions.
HEARTBEAT = "heartbeat"


def run(coro, timeout=60):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def ws_url(server, token):
    return f"{server.ws_base}/ws" + ("" if token is None else f"?token={token}")


async def connect(server, token, **kwargs):
    """Opens /ws. Client pings are off: the server's own keep-alive pings are
    answered by the library as long as it keeps reading, so its incoming
    queue is unbounded (with the default of 32 it stops reading when a test
    is busy elsewhere, and the server rightly drops the silent peer)."""
    options = dict(ping_interval=None, open_timeout=10, close_timeout=3, max_size=1 << 22,
                   max_queue=None)
    options.update(kwargs)
    return await websockets.connect(ws_url(server, token), **options)


async def recv_json(ws, timeout=5.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def next_message(ws, timeout=5.0, skip=(HEARTBEAT,)):
    """The next message whose type is not in `skip`."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no message other than {skip} within {timeout}s")
        try:
            msg = await recv_json(ws, left)
        except asyncio.TimeoutError:
            raise AssertionError(f"no message other than {skip} within {timeout}s") from None
        if msg.get("type") not in skip:
            return msg


async def collect(ws, seconds, skip=(HEARTBEAT,)):
    """Every message (but `skip`) that arrives within `seconds`."""
    out = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        try:
            msg = await recv_json(ws, left)
        except asyncio.TimeoutError:
            return out
        if msg.get("type") not in skip:
            out.append(msg)


async def send_json(ws, obj):
    await ws.send(json.dumps(obj))


async def request(ws, obj, timeout=5.0):
    """Sends `obj` and returns the next non-heartbeat message."""
    await send_json(ws, obj)
    return await next_message(ws, timeout)


async def wait_closed(ws, timeout=10.0):
    """Reads until the server closes; returns (code, reason). Messages that
    arrive first are discarded."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"socket still open after {timeout}s")
            await asyncio.wait_for(ws.recv(), left)
    except asyncio.TimeoutError:
        raise AssertionError(f"socket still open after {timeout}s") from None
    except websockets.ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


async def first_heartbeat(ws, timeout=5.0):
    msg = await recv_json(ws, timeout)
    assert msg.get("type") == HEARTBEAT, msg
    return msg


def in_thread(fn, *args, **kwargs):
    """Runs blocking HTTP in a thread so the event loop keeps reading sockets."""
    return asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))


# --- tokens ------------------------------------------------------------------

def _b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge_token(secret, user_id, username, is_admin=False, exp_offset=3600, version=1):
    """An HS256 token in the server's own claim layout, signed with `secret`.
    exp_offset < 0 makes it expired. `version` is the `ver` claim: a user's
    token version starts at 1 and grows with each password or role change."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": str(user_id), "name": username, "adm": is_admin, "iat": now,
              "exp": now + exp_offset, "ver": version}
    signing_input = (_b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     _b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(sig)


def server_secret(server):
    return (server.data_dir / "jwt_secret").read_text().splitlines()[0]


# --- a hand-made client that can refuse to read -------------------------------

class RawWebSocket:
    """A WebSocket client on a plain TCP socket, so a test can stop reading
    (the library clients always drain their socket in the background).
    `rcvbuf` is set before connect so the kernel window stays small."""

    def __init__(self, server, token, rcvbuf=None, timeout=10):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", server.port))
        self._send_lock = threading.Lock()
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws?token={token} HTTP/1.1\r\n"
                           f"Host: 127.0.0.1:{server.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(1024)
            if not chunk:
                raise AssertionError(f"connection closed during the handshake: {buf!r}")
            buf += chunk
        head, self.pending = buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        assert b" 101 " in status + b" ", head

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", n)
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self._send_lock:
            self.sock.sendall(header + mask + masked)

    def send_text(self, text):
        self._send_frame(0x1, text.encode())

    def send_close(self, code=1000):
        self._send_frame(0x8, struct.pack("!H", code))

    def read_until_close(self, timeout=15):
        """Reads (and parses) frames until a close frame or EOF. Returns
        (messages, close_code or None, close_reason, saw_eof)."""
        self.sock.settimeout(timeout)
        buf = self.pending
        self.pending = b""
        messages = []
        partial = b""  # Beast may split a message into several frames
        deadline = time.monotonic() + timeout
        while True:
            while True:  # parse every complete frame in buf
                frame = _parse_frame(buf)
                if frame is None:
                    break
                fin, opcode, payload, buf = frame
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                    return messages, code, payload[2:].decode(errors="replace"), False
                if opcode in (0x1, 0x0):  # text, or a continuation of it
                    partial += payload
                    if fin:
                        messages.append(partial)
                        partial = b""
            if time.monotonic() > deadline:
                raise AssertionError(f"no close frame or EOF within {timeout}s")
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return messages, None, "", True
            buf += chunk

    def read_to_eof(self, timeout=10):
        self.sock.settimeout(timeout)
        while True:
            try:
                if not self.sock.recv(1 << 16):
                    return
            except ConnectionResetError:
                return

    def close(self):
        self.sock.close()


def _parse_frame(buf):
    """(fin, opcode, payload, rest) for the first complete unmasked frame, or None."""
    if len(buf) < 2:
        return None
    fin = bool(buf[0] & 0x80)
    opcode = buf[0] & 0x0F
    n = buf[1] & 0x7F
    pos = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack("!H", buf[2:4])[0]
        pos = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack("!Q", buf[2:10])[0]
        pos = 10
    assert not buf[1] & 0x80, "server frames are never masked"
    if len(buf) < pos + n:
        return None
    return fin, opcode, buf[pos:pos + n], buf[pos + n:]
