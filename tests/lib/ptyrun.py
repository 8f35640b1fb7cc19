#!/usr/bin/python3
"""tests/lib/ptyrun.py - run a command on a new pseudo-terminal, as a user at a terminal would.

  ptyrun.py ROWS COLS INPUT -- COMMAND...

The terminal gets the window size ROWS x COLS before COMMAND starts; INPUT (backslash
escapes allowed, e.g. 'ls\\r') is typed once COMMAND's output first appears. Prints everything
COMMAND wrote to the terminal, then exits with COMMAND's exit status (128+N when killed by
signal N). Gives up after 120 s (exit 124). With PTYRUN_READ_DELAY=S the terminal is not read
for the first S seconds: a terminal that falls behind.
"""
import codecs, fcntl, os, pty, select, struct, sys, termios, time

rows, cols = int(sys.argv[1]), int(sys.argv[2])
typed = codecs.decode(sys.argv[3], "unicode_escape")
cmd = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(cmd[0], cmd)
time.sleep(float(os.environ.get("PTYRUN_READ_DELAY", "0")))
out, deadline = b"", time.monotonic() + 120
while time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 0.5)
    if not r:
        continue
    try:
        data = os.read(fd, 65536)
    except OSError:  # EIO: the terminal's last user is gone
        break
    if not data:
        break
    if typed and not out:
        os.write(fd, typed.encode())
        typed = ""
    out += data
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    sys.stdout.buffer.write(out)
    sys.exit(124)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
