"""A process that takes POSIX (fcntl) locks on one file when told to, for tests of locks across appliances.

Reads one command a line from stdin and answers one line on stdout:
  trylock  -> "locked" or "busy <errno name>"   (F_SETLK, exclusive, whole file)
  lock     -> "locked <monotonic seconds>"      (F_SETLKW; the time is taken when the lock is granted)
  unlock   -> "unlocked <monotonic seconds>"    (the time is taken just before the lock is released)
The times are CLOCK_MONOTONIC, which every process on the machine shares, so two helpers' times can be compared.
"""
import errno
import fcntl
import os
import sys
import time

fd = os.open(sys.argv[1], os.O_RDWR)
print("open", flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "trylock":
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            print("locked", flush=True)
        except OSError as e:
            print("busy", errno.errorcode.get(e.errno, str(e.errno)), flush=True)
    elif command == "lock":
        fcntl.lockf(fd, fcntl.LOCK_EX)
        print("locked", repr(time.monotonic()), flush=True)
    elif command == "unlock":
        released = time.monotonic()
        fcntl.lockf(fd, fcntl.LOCK_UN)
        print("unlocked", repr(released), flush=True)
    else:
        print("unknown command", command, flush=True)
