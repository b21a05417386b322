//! `Mapping::read_at`/`write_at` from several threads at once: the copies are
//! relaxed atomic accesses, so this is not a data race by Rust's rules.
//!
//! `.ci/run` also builds and runs this file under ThreadSanitizer
//! (`-Zsanitizer=thread`, nightly), which reported a data race here while the
//! copies were `copy_nonoverlapping`.

mod common;

use common::Name;
use ipc::SharedMemory;

/// One thread writes words of equal bytes while another reads: no race, and
/// no aligned word is ever torn (each is one atomic access).
#[test]
fn concurrent_read_write_is_race_free() {
    const LEN: usize = 256;
    const WORD: usize = size_of::<usize>();
    let name = Name::shm("race");
    let shm = SharedMemory::create_new(&name, LEN).unwrap();
    let map = shm.map().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 0..2000u32 {
                let byte = (round % 251) as u8;
                map.write_at(0, &[byte; LEN]).unwrap();
            }
        });
        s.spawn(|| {
            let mut buf = [0u8; LEN];
            for _ in 0..2000 {
                map.read_at(0, &mut buf).unwrap();
                // The mapping is page-aligned, so offset 0 starts a word.
                // The last 40 bytes are not checked: the third thread
                // writes there pieces of what it read, which straddle
                // words and hold bytes of two rounds, so a mixed word there
                // is the test's own doing, not a torn access.
                for word in buf[..LEN - 40].chunks_exact(WORD) {
                    assert!(word.iter().all(|&b| b == word[0]), "torn word {word:?}");
                }
            }
        });
        // Unaligned ranges take the byte paths at both edges.
        s.spawn(|| {
            let mut buf = [0u8; 37];
            for i in 0..2000 {
                map.read_at(3 + i % 5, &mut buf).unwrap();
                map.write_at(LEN - 40 + i % 3, &buf[..13]).unwrap();
            }
        });
    });
    drop(map);
    shm.unlink().unwrap();
}

/// Every offset and length near word boundaries copies exactly its bytes.
#[test]
fn copies_are_exact_at_every_alignment() {
    let name = Name::shm("copy");
    let shm = SharedMemory::create_new(&name, 128).unwrap();
    let map = shm.map().unwrap();
    let pattern: Vec<u8> = (0..128u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(1))
        .collect();
    for offset in 0..20 {
        for len in 0..40 {
            map.write_at(0, &[0u8; 128]).unwrap();
            map.write_at(offset, &pattern[..len]).unwrap();
            let mut whole = [0xAAu8; 128];
            map.read_at(0, &mut whole).unwrap();
            let mut want = [0u8; 128];
            want[offset..offset + len].copy_from_slice(&pattern[..len]);
            assert_eq!(whole, want, "write at {offset} of {len}");
            let mut part = vec![0u8; len];
            map.read_at(offset, &mut part).unwrap();
            assert_eq!(part, pattern[..len], "read at {offset} of {len}");
        }
    }
    drop(map);
    shm.unlink().unwrap();
}
