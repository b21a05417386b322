"""This posix_ipc and the real one (posix_ipc 1.3.2, C) share each kind of
object, both ways: one creates, the other opens, and both use it.

    IPC_TEST_PYTHON=/path/to/python-with-real-posix_ipc \\
        python -m unittest test_interop        (run with this project's module)

The peer runs in its own process and interpreter; .ci/run points
IPC_TEST_PYTHON at target/ci-venv, which has posix-ipc==1.3.2 from PyPI.
Without it the tests are skipped, with the reason printed (under CI=true
they fail instead).
"""

import itertools
import mmap
import os
import subprocess
import sys
import textwrap
import time
import unittest

import posix_ipc

PEER = os.environ.get("IPC_TEST_PYTHON")
_counter = itertools.count()


def unique_name():
    return "/ipc-pyi.%d.%d" % (os.getpid(), next(_counter))


def peer_is_real_posix_ipc():
    if not PEER:
        return False
    check = "import posix_ipc, sys; sys.exit(hasattr(posix_ipc, '__ipc_version__'))"
    return subprocess.run([PEER, "-c", check]).returncode == 0


REAL = peer_is_real_posix_ipc()
if not REAL and os.environ.get("CI") == "true":
    sys.exit("CI=true but IPC_TEST_PYTHON (%r) is not a Python with the real posix_ipc" % PEER)


def peer_code(code):
    return "import mmap, sys, posix_ipc\nname = sys.argv[1]\n" + textwrap.dedent(code)


def peer(code, name, timeout=20):
    """Runs `code` with the real posix_ipc; returns what it printed."""
    done = subprocess.run([PEER, "-c", peer_code(code), name], capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError("peer failed:\n" + done.stderr)
    return done.stdout.strip()


def peer_start(code, name):
    return subprocess.Popen([PEER, "-c", peer_code(code), name], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@unittest.skipUnless(REAL, "no Python with the real posix_ipc: set IPC_TEST_PYTHON")
class TestInterop(unittest.TestCase):
    def name(self, unlink):
        name = unique_name()

        def cleanup():
            try:
                unlink(name)
            except posix_ipc.ExistentialError:
                pass

        self.addCleanup(cleanup)
        return name

    def test_peer_is_the_real_posix_ipc(self):
        self.assertTrue(hasattr(posix_ipc, "__ipc_version__"))
        self.assertEqual(peer("print(posix_ipc.VERSION, hasattr(posix_ipc, '__ipc_version__'))",
                              "-"), "1.3.2 False")
        constants = ("O_CREAT O_EXCL O_CREX O_TRUNC PAGE_SIZE SEMAPHORE_VALUE_MAX "
                     "QUEUE_PRIORITY_MAX USER_SIGNAL_MIN USER_SIGNAL_MAX "
                     "SEMAPHORE_TIMEOUT_SUPPORTED SEMAPHORE_VALUE_SUPPORTED "
                     "MESSAGE_QUEUES_SUPPORTED").split()
        theirs = peer("print(repr([getattr(posix_ipc, c) for c in %r]))" % constants, "-")
        self.assertEqual(theirs, repr([getattr(posix_ipc, c) for c in constants]))

    def test_semaphore_created_here_used_there(self):
        name = self.name(posix_ipc.unlink_semaphore)
        sem = posix_ipc.Semaphore(name, posix_ipc.O_CREX, initial_value=0)
        self.addCleanup(sem.close)
        self.assertEqual(peer("""
            s = posix_ipc.Semaphore(name)
            print(s.value)
            s.release(); s.release()
        """, name), "0")
        self.assertEqual(sem.value, 2)
        sem.acquire(0)
        sem.acquire(0)
        # A waiter there is woken by a release here.
        waiter = peer_start("""
            posix_ipc.Semaphore(name).acquire(10)
            print("acquired")
        """, name)
        time.sleep(0.3)
        sem.release()
        out, err = waiter.communicate(timeout=20)
        self.assertEqual((waiter.returncode, out.strip()), (0, "acquired"), err)
        self.assertEqual(sem.value, 0)

    def test_semaphore_created_there_used_here(self):
        name = self.name(posix_ipc.unlink_semaphore)
        peer("posix_ipc.Semaphore(name, posix_ipc.O_CREX, initial_value=1)", name)
        sem = posix_ipc.Semaphore(name)
        self.addCleanup(sem.close)
        sem.acquire(0)
        with self.assertRaises(posix_ipc.BusyError):
            sem.acquire(0)
        # A waiter here is woken by a release there.
        releaser = peer_start("""
            import time
            time.sleep(0.3)
            posix_ipc.Semaphore(name).release()
        """, name)
        sem.acquire(10)
        _, err = releaser.communicate(timeout=20)
        self.assertEqual(releaser.returncode, 0, err)
        # Unlinked here, gone there.
        posix_ipc.unlink_semaphore(name)
        self.assertEqual(peer("""
            try:
                posix_ipc.Semaphore(name)
            except posix_ipc.ExistentialError:
                print("gone")
        """, name), "gone")

    def test_shared_memory_created_here_used_there(self):
        name = self.name(posix_ipc.unlink_shared_memory)
        shm = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, size=4096)
        with mmap.mmap(shm.fd, shm.size) as m:
            m[:9] = b"from ours"
        self.assertEqual(peer("""
            shm = posix_ipc.SharedMemory(name)
            with mmap.mmap(shm.fd, shm.size) as m:
                print(shm.size, m[:9].decode())
                m[100:111] = b"from theirs"
            shm.close_fd()
        """, name), "4096 from ours")
        with mmap.mmap(shm.fd, shm.size) as m:
            self.assertEqual(m[100:111], b"from theirs")
        shm.close_fd()

    def test_shared_memory_created_there_used_here(self):
        name = self.name(posix_ipc.unlink_shared_memory)
        peer("""
            shm = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, size=8192)
            with mmap.mmap(shm.fd, shm.size) as m:
                m[8000:8011] = b"from theirs"
            shm.close_fd()
        """, name)
        shm = posix_ipc.SharedMemory(name)
        self.assertEqual(shm.size, 8192)
        with mmap.mmap(shm.fd, shm.size) as m:
            self.assertEqual(m[8000:8011], b"from theirs")
            m[:9] = b"from ours"
        shm.close_fd()
        # Resized here, seen there; unlinked here, gone there.
        posix_ipc.SharedMemory(name, size=100).close_fd()
        posix_ipc.unlink_shared_memory(name)
        self.assertEqual(peer("""
            try:
                posix_ipc.SharedMemory(name)
            except posix_ipc.ExistentialError:
                print("gone")
        """, name), "gone")

    def test_message_queue_created_here_used_there(self):
        name = self.name(posix_ipc.unlink_message_queue)
        mq = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, max_messages=4, max_message_size=64)
        self.addCleanup(mq.close)
        mq.send("routine", priority=1)
        mq.send(b"urgent", priority=9)
        self.assertEqual(peer("""
            mq = posix_ipc.MessageQueue(name)
            print(mq.max_messages, mq.max_message_size, mq.receive(), mq.receive())
            mq.send("back", priority=7)
        """, name), "4 64 (b'urgent', 9) (b'routine', 1)")
        self.assertEqual(mq.receive(0), (b"back", 7))
        # A receiver there is woken by a send here.
        receiver = peer_start("print(posix_ipc.MessageQueue(name).receive(10))", name)
        time.sleep(0.3)
        mq.send("wake up", priority=2)
        out, err = receiver.communicate(timeout=20)
        self.assertEqual(out.strip(), "(b'wake up', 2)", err)

    def test_message_queue_created_there_used_here(self):
        name = self.name(posix_ipc.unlink_message_queue)
        peer("""
            mq = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, max_messages=3,
                                        max_message_size=32)
            mq.send("from theirs", priority=4)
        """, name)
        mq = posix_ipc.MessageQueue(name)
        self.addCleanup(mq.close)
        self.assertEqual((mq.max_messages, mq.max_message_size, mq.current_messages), (3, 32, 1))
        self.assertEqual(mq.receive(0), (b"from theirs", 4))
        # A receiver here is woken by a send there.
        sender = peer_start("""
            import time
            time.sleep(0.3)
            posix_ipc.MessageQueue(name).send(b"\\x00\\xffbytes", priority=6)
        """, name)
        self.assertEqual(mq.receive(10), (b"\x00\xffbytes", 6))
        _, err = sender.communicate(timeout=20)
        self.assertEqual(sender.returncode, 0, err)
        posix_ipc.unlink_message_queue(name)
        self.assertEqual(peer("""
            try:
                posix_ipc.MessageQueue(name)
            except posix_ipc.ExistentialError:
                print("gone")
        """, name), "gone")


if __name__ == "__main__":
    unittest.main()
