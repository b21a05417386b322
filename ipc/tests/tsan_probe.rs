//! Two threads on one `Mapping`, one writing and one reading the same bytes:
//! the probe `.ci/run` builds with ThreadSanitizer (`-Zsanitizer=thread` on
//! nightly) and that `cargo test` runs as a plain test.
//!
//! While `read_at`/`write_at` copied with `copy_nonoverlapping`,
//! ThreadSanitizer reported a data race in them here. The threads are raw
//! `pthread_create` threads and there is no libtest harness: without an
//! instrumented standard library (nightly's `-Zbuild-std` needs rust-src),
//! `std::thread`'s `Arc`s and libtest's channels give false reports (their
//! fences are invisible to the sanitizer), which would drown a real one.
// Raw threads need `pthread_create`, which is `unsafe`.
#![allow(unsafe_code)]

use std::ffi::c_void;

const LEN: usize = 64;
const ROUNDS: usize = 20_000;

extern "C" fn writer(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `main` passes a pointer to a Mapping that outlives the thread
    // (it joins before dropping it).
    let map = unsafe { &*arg.cast::<ipc::Mapping>() };
    for i in 0..ROUNDS {
        map.write_at(i % 3, &[i as u8; LEN - 3]).unwrap();
    }
    std::ptr::null_mut()
}

extern "C" fn reader(arg: *mut c_void) -> *mut c_void {
    // SAFETY: as in `writer`.
    let map = unsafe { &*arg.cast::<ipc::Mapping>() };
    let mut buf = [0u8; LEN];
    let mut sum = 0u64;
    for i in 0..ROUNDS {
        map.read_at(i % 2, &mut buf[..LEN - 2]).unwrap();
        sum += u64::from(buf[5]);
    }
    std::hint::black_box(sum);
    std::ptr::null_mut()
}

fn main() {
    let name = format!("/ipc-test.{}.tsan-probe", std::process::id());
    let shm = ipc::SharedMemory::create_new(&name, LEN).unwrap();
    let result = std::panic::catch_unwind(|| {
        let map = shm.map().unwrap();
        let arg = (&raw const map).cast_mut().cast::<c_void>();
        let mut threads = [0 as libc::pthread_t; 2];
        for (t, f) in threads
            .iter_mut()
            .zip([writer as extern "C" fn(_) -> _, reader])
        {
            // SAFETY: `t` is writable; `f` has the signature pthread_create
            // expects; `arg` points to `map`, which lives until after the join.
            let rc = unsafe { libc::pthread_create(t, std::ptr::null(), f, arg) };
            assert_eq!(rc, 0, "pthread_create");
        }
        for t in threads {
            // SAFETY: `t` is a joinable thread created above, joined once.
            let rc = unsafe { libc::pthread_join(t, std::ptr::null_mut()) };
            assert_eq!(rc, 0, "pthread_join");
        }
    });
    ipc::unlink_shared_memory(&name).unwrap();
    if result.is_err() {
        std::process::exit(1);
    }
    println!("test tsan_probe ... ok (two threads, {ROUNDS} copies each)");
}
