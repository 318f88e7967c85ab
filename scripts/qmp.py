#!/usr/bin/python3
"""QMP, QEMU's JSON machine protocol over a Unix socket: a small client
for scripts/vm-move and the tests, and a command line for one command:

    qmp.py SOCKET COMMAND [ARGUMENTS]

sends COMMAND (e.g. query-kvm) with ARGUMENTS (a JSON object) and prints
QEMU's return value as JSON.  Exit status 1 with QEMU's error, 2 on a
usage error.
"""
import json
import os
import socket
import struct
import sys
import time


class QMPError(Exception):
    pass


class QMP:
    """One connection, capabilities negotiated; events are kept in .events."""

    def __init__(self, path, timeout=30.0):
        self.path = path
        self.events = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
            self.file = self.sock.makefile("rb")
            if "QMP" not in self._read():
                raise QMPError(f"{path}: not a QMP socket")
            self.command("qmp_capabilities")
        except BaseException:
            self.sock.close()
            raise

    @classmethod
    def wait(cls, path, seconds, alive=lambda: True):
        """Connect once QEMU listens on path; give up after seconds or
        when alive() says the process is gone."""
        end = time.monotonic() + seconds
        while True:
            try:
                return cls(path)
            except (FileNotFoundError, ConnectionRefusedError):
                if not alive() or time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def _read(self):
        line = self.file.readline()
        if not line:
            raise QMPError(f"{self.path}: QEMU closed the connection")
        return json.loads(line)

    def command(self, name, args=None):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                raise QMPError(f"{name}: {reply['error'].get('desc', reply['error'])}")
            else:
                return reply["return"]

    def hmp(self, line):
        """A human monitor command's output, e.g. hmp("xp /1wx 0x1000")."""
        return self.command("human-monitor-command", {"command-line": line})

    def pid(self):
        """The pid of the QEMU at the other end (the socket's peer)."""
        creds = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                     struct.calcsize("3i"))
        return struct.unpack("3i", creds)[0]

    def close(self):
        self.sock.close()


def misc_devices():
    """{device number: name} of every misc device (/dev/kvm_a, /dev/kvm)."""
    devs = {}
    for name in os.listdir("/sys/class/misc"):
        try:
            with open(f"/sys/class/misc/{name}/dev") as f:
                major, minor = f.read().split(":")
        except OSError:
            continue
        devs[os.makedev(int(major), int(minor))] = name
    return devs


def kvm_device_of(pid):
    """Which KVM process pid has open as /dev/kvm (QEMU opens it by that
    name): the misc device's name, e.g. kvm_a for a KVM build bound there
    by vac-exec, or kvm for Debian's own; None if it has none open or its
    fds cannot be read.  Seen from outside the process's mount namespace
    the name can carry a prefix (the path of its chroot, say)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if not os.readlink(f"/proc/{pid}/fd/{fd}").endswith("/dev/kvm"):
                continue
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        return misc_devices().get(st.st_rdev, f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}")
    return None


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        args = json.loads(argv[3]) if len(argv) == 4 else None
    except json.JSONDecodeError as e:
        print(f"qmp.py: ARGUMENTS is not JSON: {e}", file=sys.stderr)
        return 2
    if args is not None and not isinstance(args, dict):
        print("qmp.py: ARGUMENTS must be a JSON object", file=sys.stderr)
        return 2
    try:
        q = QMP(argv[1])
        ret = q.command(argv[2], args)
        q.close()
    except (OSError, QMPError) as e:
        print(f"qmp.py: {e}", file=sys.stderr)
        return 1
    # Human monitor output is text already.
    sys.stdout.write(ret if isinstance(ret, str) else json.dumps(ret, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
