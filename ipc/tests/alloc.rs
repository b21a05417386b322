//! `MessageQueue::receive_into` (and send, try_send, the semaphore
//! operations) allocate nothing: a counting global allocator proves it. The
//! file has its own `main`, so no test-harness thread allocates meanwhile.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator unchanged; the
// counter has no effect on the memory handed out.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` through `alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations `f` makes.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

fn main() {
    let mq = ipc::MessageQueue::options()
        .max_messages(4)
        .max_message_size(256)
        .create_unique("/ipc-test.alloc")
        .unwrap();
    // Unlinked on drop too, so a failing assertion leaves nothing behind.
    let _mq_name = common::Name::adopt(mq.name(), common::Kind::MessageQueue);
    let sem = ipc::Semaphore::options()
        .initial_value(1)
        .create_unique("/ipc-test.alloc")
        .unwrap();
    let _sem_name = common::Name::adopt(sem.name(), common::Kind::Semaphore);
    let mut buf = [0u8; 256];
    let msg = [1u8; 200];

    // The counter works: receive allocates its Vec.
    mq.send(&msg, 3).unwrap();
    let n = allocations(|| drop(mq.receive().unwrap()));
    assert!(
        n >= 1,
        "the counting allocator saw {n} allocations in receive"
    );

    let n = allocations(|| {
        for i in 0..1000 {
            mq.send(&msg, i % 32).unwrap();
            let (len, _) = mq.receive_into(&mut buf).unwrap();
            assert_eq!(len, 200);
            mq.try_send(&msg[..10], 1).unwrap();
            mq.try_receive_into(&mut buf).unwrap();
            sem.acquire().unwrap();
            sem.release().unwrap();
            drop(sem.lock().unwrap());
            assert_eq!(sem.value().unwrap(), 1);
        }
    });
    mq.unlink().unwrap();
    sem.unlink().unwrap();
    assert_eq!(
        n, 0,
        "{n} allocations in 1000 rounds of allocation-free calls"
    );
    println!("test receive_into_and_friends_allocate_nothing ... ok");
}
