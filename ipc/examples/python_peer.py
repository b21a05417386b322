"""The Python half of `cargo run --example python_peer`: it opens the objects
the Rust half created, by name, with posix_ipc."""
import mmap
import sys

import posix_ipc

queue_name, memory_name, ready_name = sys.argv[1:4]

queue = posix_ipc.MessageQueue(queue_name)
for text, priority in [("routine job", 1), ("urgent job", 9), ("normal job", 5)]:
    queue.send(text, priority=priority)
queue.close()

memory = posix_ipc.SharedMemory(memory_name)
with mmap.mmap(memory.fd, memory.size) as view:
    greeting = b"hello from Python"
    view[: len(greeting)] = greeting
memory.close_fd()

posix_ipc.Semaphore(ready_name).release()
