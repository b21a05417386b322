//! The shared-memory ring behind [`crate::Channel`]: slot states, the claim
//! protocol, recovery of claims whose process died, and the futex.
//!
//! # Layout
//!
//! The object's payload is a [`Control`] block (the two position hints and
//! the two futex words, each on its own cache line) followed by `capacity`
//! [`Slot`]s, each aligned to a cache line: a 64-bit state word and the value.
//!
//! # Slot states
//!
//! Position `p` (a 61-bit counter that never wraps in practice) lives in slot
//! `p % capacity`. A slot's state word is one of
//!
//! - `FREE(p)`: empty, ready for the sender of position `p`;
//! - `FULL(p)`: holds the value of position `p`, ready for a receiver;
//! - `WRITING(p, pid)`: process `pid` claimed position `p` and is copying the
//!   value in;
//! - `READING(p, pid)`: process `pid` claimed the value of position `p` and
//!   is copying it out.
//!
//! A position moves `FREE(p) → WRITING(p, s) → FULL(p) → READING(p, r) →
//! FREE(p + capacity)`. The two claims are compare-and-swaps on the state
//! word, so exactly one sender writes each position and exactly one receiver
//! reads it. A claim is acquire, publishing (`FULL`) and freeing (`FREE`)
//! are release stores: the value's bytes are ordered by the state word alone.
//!
//! # Cursors and hints: where a claim starts
//!
//! Every [`Sender`](crate::Sender) and [`Receiver`](crate::Receiver) handle
//! keeps a [`Cursor`], the position after its last claim, and claims there:
//! one compare-and-swap on that slot's state word, expecting `FREE(p)`
//! (sender) or `FULL(p)` (receiver). In steady use that is the only shared
//! line a claim touches besides the value's. If the position is taken — its
//! state shows that another handle claimed it, for a receiver also that it
//! was skipped — the cursor moves to the next position or to the hint,
//! whichever is further, and tries again.
//!
//! `tail` and `head` in [`Control`] are those hints: the claimant of every
//! [`HINT_EVERY`]th position moves its side's hint up to the next one
//! (`fetch_max`, so never down); so does a receiver whose cursor passes such
//! a position that was skipped (no receiver claimed it). They trail the
//! claims by less than that, plus claims whose process died in between; new
//! handles start from them, and [`Ring::len`] scans forward from them to the
//! first position not taken.
//!
//! The invariant that makes this sound: every position below a hint or a
//! cursor is taken, because a cursor passes a position only after seeing its
//! slot taken, and a hint is set only to just after a claim. So no cursor
//! ever skips a free position — which would leave a hole that receivers stop
//! at, or a value no receiver takes — and a handle's positions only grow: a
//! sender's values are received in the order it sent them. A stale cursor
//! (the handle shared by threads, or left behind by other handles) costs a
//! few extra looks, never correctness.
//!
//! # Polling
//!
//! A waiting sender polls its cursor's slot with a load (is it still
//! `FULL(p - capacity)`?). A waiting receiver polls by claiming: it reads the
//! state with a compare-and-swap that changes nothing (`FULL(p) → FULL(p)`),
//! which keeps the line in this CPU's cache, writable. When the sender takes
//! the line to publish, one transfer brings it back ready for the real
//! claim; a polling load would need a second one to upgrade the line (the
//! round trip between two CPUs dropped from 0.32–0.35 µs to 0.26–0.30 µs).
//! Being a read-modify-write, the no-op continues the release sequence of the
//! sender's `FULL` store, so the receiver's acquire claim after it still
//! synchronizes with the sender. Both sides prefetch the value's first line
//! at the moment they know they will need it (the sender for writing, before
//! its claim; the receiver for reading, once it has seen `FULL`), so that its
//! transfer overlaps the claim's.
//!
//! `FREE` and `FULL` carry a waiter bit: a receiver about to sleep on an empty
//! channel sets it on `FREE(p)`, a sender about to sleep on a full channel on
//! `FULL(p)`. The claim that ends the state reads the bit (the claim is a
//! compare-and-swap anyway), and only then does the claimant bump the other
//! side's futex word and call `futex(FUTEX_WAKE)`. The fast path therefore
//! has no system call and no full fence; a sleeper cannot miss its wake-up,
//! because it reads the futex word *before* setting the bit, and the claimant
//! bumps the word only *after* its claim has read the bit (see [`wake`]). The
//! receiver's no-op compare-and-swap cannot lose a bit either: it succeeds
//! only on the exact value it expects, bit included, and writes it back
//! unchanged.
//!
//! # Dead claimants
//!
//! A claimed state names its process. A process that finds a claim in its
//! way (a receiver at `WRITING(p, s)`, a sender at `READING(p - capacity, r)`
//! ...) and finds the claimant dead (`kill(pid, 0)` is `ESRCH`, or on Linux
//! `/proc/<pid>/stat` shows an unreaped zombie) replaces the
//! claim with `FREE(p + capacity)`: the position is skipped. The dead sender's
//! value was never sent (its `send` never returned); the dead receiver's
//! value was taken and is lost with it. So a killed process loses at most the
//! one value it was handling, and nothing else is lost or duplicated.
//!
//! Claimed states keep the low 40 bits of the position and a 22-bit pid
//! (Linux's `PID_MAX_LIMIT` is 2^22), so a process that stalls for 2^40
//! operations of the channel could mistake a later lap for its own: about
//! six hours at 50 million values per second, with an exact lap alignment.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::object::{HEADER_LEN, Payload, Region, pid_is_dead};

/// The largest capacity: keeps positions of one lap far inside 40 bits.
pub(crate) const MAX_CAPACITY: usize = (u32::MAX as usize).saturating_add(1);

const PHASE: u64 = 0b11;
const FREE: u64 = 0;
const FULL: u64 = 1;
const WRITING: u64 = 2;
const READING: u64 = 3;
/// On `FREE`/`FULL`: someone sleeps until this state ends.
const WAITER: u64 = 0b100;
/// Where the position starts in `FREE`/`FULL`.
const POS_SHIFT: u32 = 3;
/// Pid bits of a claimed state.
const PID_BITS: u32 = 22;
/// Where the (truncated) position starts in a claimed state.
const CLAIM_POS_SHIFT: u32 = 2 + PID_BITS;
/// Bits of the position a claimed state keeps.
// Read only by the compile-time assertion below, which Rust 1.85 (our
// rust-version) does not count as a use.
#[allow(dead_code)]
const CLAIM_POS_BITS: u32 = 64 - CLAIM_POS_SHIFT;

/// Whether `pid` fits in a claimed state.
pub(crate) fn pid_fits(pid: u32) -> bool {
    pid != 0 && pid < 1 << PID_BITS
}

const fn open_state(phase: u64, pos: u64) -> u64 {
    pos << POS_SHIFT | phase
}

fn claim_state(phase: u64, pos: u64, pid: u32) -> u64 {
    pos << CLAIM_POS_SHIFT | u64::from(pid) << 2 | phase
}

/// A decoded state word, with the position relative to the caller's.
#[derive(Debug, Clone, Copy)]
enum State {
    Free { rel: i64 },
    Full { rel: i64 },
    Writing { rel: i64, pid: u32 },
    Reading { rel: i64, pid: u32 },
}

/// Decodes `s` relative to position `pos`: `rel` is the state's position
/// minus `pos` (for claimed states, computed on their 40 bits).
fn decode(s: u64, pos: u64) -> State {
    let open_rel = || (s >> POS_SHIFT).wrapping_sub(pos) as i64;
    let claim_rel = || {
        let diff = (s >> CLAIM_POS_SHIFT).wrapping_sub(pos) << CLAIM_POS_SHIFT;
        (diff as i64) >> CLAIM_POS_SHIFT
    };
    let pid = ((s >> 2) & ((1 << PID_BITS) - 1)) as u32;
    match s & PHASE {
        FREE => State::Free { rel: open_rel() },
        FULL => State::Full { rel: open_rel() },
        WRITING => State::Writing {
            rel: claim_rel(),
            pid,
        },
        _ => State::Reading {
            rel: claim_rel(),
            pid,
        },
    }
}

const _: () = assert!(CLAIM_POS_BITS == 40);

/// A 64-byte-aligned cell, so the hints do not share a cache line.
#[repr(C, align(64))]
struct Line<T>(T);

/// The control block at the start of the payload.
#[repr(C)]
pub(crate) struct Control {
    /// The next position to send (a hint, see the module docs).
    tail: Line<AtomicU64>,
    /// The next position to receive.
    head: Line<AtomicU64>,
    /// Bumped and woken when a value lands in a slot a receiver waits on.
    recv_event: Line<AtomicU32>,
    /// Bumped and woken when a slot a sender waits on is freed.
    send_event: Line<AtomicU32>,
}

// SAFETY: Control is atomics only (and padding), so every bit pattern is
// valid, it means the same in every process, and all mutation through
// `&Control` is atomic.
unsafe impl Payload for Control {}

/// One slot: the value, then its state word. The value comes first so that
/// it starts on a cache line (the slot is cache-line aligned); a 64-byte
/// value then fills exactly one line.
#[repr(C, align(64))]
pub(crate) struct Slot<T> {
    value: UnsafeCell<T>,
    state: AtomicU64,
}

/// The offset of the value in a slot, for the layout fingerprint.
pub(crate) const fn value_offset<T>() -> usize {
    std::mem::offset_of!(Slot<T>, value)
}

/// The offset of the state word in a slot, for the layout fingerprint.
pub(crate) const fn state_offset<T>() -> usize {
    std::mem::offset_of!(Slot<T>, state)
}

/// Where the slots start, counted from the payload (which starts at
/// `payload_at` in the page-aligned mapping), and the payload's length for
/// `capacity` slots; `None` on overflow or an alignment above a page.
pub(crate) fn geometry<T>(payload_at: usize, capacity: usize) -> Option<(usize, usize)> {
    let align = align_of::<Slot<T>>();
    if align > 4096 {
        return None;
    }
    let slots_at = (payload_at + size_of::<Control>()).next_multiple_of(align) - payload_at;
    let len = size_of::<Slot<T>>()
        .checked_mul(capacity)?
        .checked_add(slots_at)?;
    Some((slots_at, len))
}

/// Why an attempt did not send (or receive).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// Full (for a sender) or empty (for a receiver): nothing to do until the
    /// other side moves. `slot`/`state` are what to mark before sleeping.
    Blocked { slot: usize, state: u64 },
    /// A claim of `pid` on position `pos` is in the way: wait for it to end,
    /// or [`recover`](Ring::recover) it if `pid` is dead.
    Claimed {
        slot: usize,
        state: u64,
        pos: u64,
        pid: u32,
    },
}

/// Where a position stands for one side, from its slot's state
/// ([`Ring::look_send`], [`Ring::look_recv`]).
enum Look {
    /// Claimable now (`FREE(p)` for a sender, `FULL(p)` for a receiver).
    Open,
    /// Not until something changes: the [`Step`] to report.
    Wait(Step),
    /// Taken by another handle: move on; `hint` says whether passing it
    /// should move the side's hint (see `advance`).
    Passed { hint: bool },
    /// A state older than the position: a stale read, look again.
    Stale,
}

/// The ring of a mapped channel: the control block and the slots.
pub(crate) struct Ring<T> {
    slots: NonNull<Slot<T>>,
    capacity: u64,
    /// `capacity - 1` when the capacity is a power of two (a mask instead
    /// of a division, which costs as much as a cache hit), else 0.
    mask: u64,
    region: Region<Control>,
    _values: PhantomData<T>,
}

// SAFETY: a Ring is a mapping (Region, itself Send + Sync) and a pointer
// into it, with no thread affinity. Every access through `&Ring` is either
// atomic (states, hints, futex words) or a copy of a value into or out of a
// slot that this thread has claimed with a compare-and-swap, which no other
// thread of any process touches until the claim is released. T: ShmSafe
// values hold nothing tied to a thread or a process, so moving them between
// threads (and processes) through the ring is sound.
unsafe impl<T: crate::ShmSafe> Send for Ring<T> {}
// SAFETY: as above.
unsafe impl<T: crate::ShmSafe> Sync for Ring<T> {}

/// Where the payload starts in the object (as `Spec::new::<Control>` puts it).
pub(crate) const PAYLOAD_AT: usize = HEADER_LEN.next_multiple_of(align_of::<Control>());

impl<T: crate::ShmSafe> Ring<T> {
    /// The ring in an established channel object of `capacity` slots, or
    /// `None` if the mapping is too short for them (or `capacity` is 0).
    ///
    /// A fresh object is all zeros, which is the empty ring: the hints at
    /// 0 and slot `i` in state `FREE(i)` (states store the position of the
    /// slot's lap, `pos - i`, see [`Ring::base`]).
    // On 32-bit targets no usize exceeds MAX_CAPACITY; on 64-bit ones it can.
    #[allow(clippy::absurd_extreme_comparisons)]
    pub(crate) fn new(region: Region<Control>, capacity: usize) -> Option<Ring<T>> {
        let (slots_at, len) = geometry::<T>(PAYLOAD_AT, capacity)?;
        if capacity == 0 || capacity > MAX_CAPACITY || region.payload_len() < len {
            return None;
        }
        // SAFETY: `slots_at + capacity * size_of::<Slot<T>>() = len` bytes
        // fit in the payload (checked above), so the pointer stays inside
        // the mapping, which `region` keeps alive as long as the Ring.
        let slots = unsafe { region.payload_ptr().add(slots_at) }.cast();
        Some(Ring {
            slots,
            capacity: capacity as u64,
            mask: if capacity.is_power_of_two() {
                capacity as u64 - 1
            } else {
                0
            },
            region,
            _values: PhantomData,
        })
    }

    fn control(&self) -> &Control {
        self.region.payload()
    }

    /// The position of `pos`'s lap in its slot, `pos - pos % capacity`:
    /// what states store, so that an all-zero slot `i` is `FREE(i)`.
    #[inline]
    fn base(&self, pos: u64) -> u64 {
        pos - self.index(pos)
    }

    /// `pos % capacity`.
    #[inline]
    fn index(&self, pos: u64) -> u64 {
        if self.mask != 0 || self.capacity == 1 {
            pos & self.mask
        } else {
            pos % self.capacity
        }
    }

    fn slot_at(&self, i: usize) -> &Slot<T> {
        debug_assert!((i as u64) < self.capacity);
        // SAFETY: `i < capacity` (every caller reduces modulo capacity), so
        // the slot is inside the mapping (Ring::new), aligned (`geometry`),
        // and a valid Slot (zeros or states we wrote, and a ShmSafe value);
        // `&Slot` only exposes the atomic state, the value is reached
        // through `UnsafeCell::get` under a claim.
        unsafe { self.slots.add(i).as_ref() }
    }

    /// A cursor for a new sender: where the tail hint says the next free
    /// position is.
    pub(crate) fn send_cursor(&self) -> Cursor {
        Cursor(AtomicU64::new(
            self.control().tail.0.load(Ordering::Relaxed),
        ))
    }

    /// A cursor for a new receiver, from the head hint.
    pub(crate) fn recv_cursor(&self) -> Cursor {
        Cursor(AtomicU64::new(
            self.control().head.0.load(Ordering::Relaxed),
        ))
    }

    /// The state word of `pos`'s slot and the position of `pos`'s lap.
    #[inline]
    fn state_of(&self, pos: u64) -> (&Slot<T>, u64, usize) {
        let i = self.index(pos) as usize;
        (self.slot_at(i), pos - i as u64, i)
    }

    /// Whether the slot at the sender's cursor may be free, for a polling
    /// sender: it no longer holds the value of the previous lap.
    #[inline]
    pub(crate) fn may_send(&self, cursor: &Cursor) -> bool {
        let (slot, base, _) = self.state_of(cursor.get());
        let s = slot.state.load(Ordering::Relaxed);
        !matches!(decode(s, base), State::Full { rel, .. } if rel == -(self.capacity as i64))
    }

    /// The number of values waiting now: between the first position no
    /// receiver has taken and the first no sender has, each found by
    /// scanning forward from its hint.
    pub(crate) fn len(&self) -> usize {
        let c = self.control();
        let cap = self.capacity as i64;
        let head = self.frontier(c.head.0.load(Ordering::Acquire), |state| match state {
            State::Free { rel } => rel >= cap,
            State::Reading { rel, .. } => rel >= 0,
            State::Full { rel } | State::Writing { rel, .. } => rel > 0,
        });
        let tail = self.frontier(c.tail.0.load(Ordering::Acquire), |state| match state {
            State::Free { rel } => rel > 0,
            State::Full { rel } | State::Writing { rel, .. } | State::Reading { rel, .. } => {
                rel >= 0
            }
        });
        tail.saturating_sub(head).min(self.capacity) as usize
    }

    /// The first position from `from` on whose slot state is not `taken`.
    /// `from` is a hint, which trails the true end by less than
    /// [`HINT_EVERY`] positions plus those of claims still moving it (see
    /// the module docs) — more than a lap in a small channel — so the scan
    /// goes up to `capacity + 4 * HINT_EVERY` positions ahead, not one lap:
    /// enough in a quiet channel, and a bound against chasing busy senders
    /// forever.
    fn frontier(&self, from: u64, taken: impl Fn(State) -> bool) -> u64 {
        let mut pos = from;
        // Wrapping: positions never come near 2^64 in use, but a hint
        // another process overwrote with garbage may.
        while pos.wrapping_sub(from) < self.capacity + 4 * HINT_EVERY {
            let (slot, base, _) = self.state_of(pos);
            if !taken(decode(slot.state.load(Ordering::Acquire), base)) {
                break;
            }
            pos = pos.wrapping_add(1);
        }
        pos
    }

    /// One attempt to claim the next position for sending, as process `me`,
    /// starting at `cursor` (this handle's guess, see the module docs).
    #[inline]
    pub(crate) fn claim_send(&self, me: u32, cursor: &Cursor) -> Result<SendClaim<'_, T>, Step> {
        let tail = &self.control().tail.0;
        let mut expected = None;
        let mut stale = Stale::default();
        loop {
            let pos = cursor.get();
            let (slot, base, i) = self.state_of(pos);
            // Straight to the compare-and-swap, expecting FREE(pos): one
            // access to the slot's line when the guess is right.
            let free = expected.take().unwrap_or(open_state(FREE, base));
            // The value's first line, fetched for writing while the claim
            // runs: the copy into the slot then does not wait for it.
            prefetch_write(slot.value.get());
            let Err(s) = slot.state.compare_exchange(
                free,
                claim_state(WRITING, base, me),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) else {
                cursor.set(pos.wrapping_add(1));
                advance(tail, pos.wrapping_add(1));
                return Ok(SendClaim {
                    ring: self,
                    slot,
                    base,
                    waiter: free & WAITER != 0,
                });
            };
            match self.look_send(s, base, i, pos) {
                // A receiver sleeps on this slot: claim it with the bit.
                Look::Open => expected = Some(s),
                Look::Wait(step) => return Err(step),
                // Position `pos` is taken: on to the next one, or to the
                // hint if it is further.
                Look::Passed { hint } => {
                    stale.passed(i, s)?;
                    cursor.pass(pos, tail, hint);
                }
                // A state older than the cursor: a stale read; again.
                Look::Stale => stale.again(i, s)?,
            }
        }
    }

    /// One attempt to claim the next value for receiving, as process `me`,
    /// starting at `cursor`.
    #[inline]
    pub(crate) fn claim_recv(&self, me: u32, cursor: &Cursor) -> Result<RecvClaim<'_, T>, Step> {
        let head = &self.control().head.0;
        let mut stale = Stale::default();
        loop {
            let pos = cursor.get();
            let (slot, base, i) = self.state_of(pos);
            let full = open_state(FULL, base);
            // Read the state with a compare-and-swap that changes nothing
            // (FULL(pos) → FULL(pos)), also when polling an empty channel:
            // it leaves the line here, writable, so that after the sender
            // took it to publish, one transfer brings it back ready for the
            // claim (a load would need a second one to upgrade the line).
            let (Ok(s) | Err(s)) =
                slot.state
                    .compare_exchange(full, full, Ordering::Relaxed, Ordering::Relaxed);
            if s & !WAITER == open_state(FULL, base) {
                // The value's first line, fetched while the claim runs (not
                // earlier: that would take it from the sender writing it).
                prefetch_read(slot.value.get());
                if slot
                    .state
                    .compare_exchange(
                        s,
                        claim_state(READING, base, me),
                        Ordering::Acquire,
                        Ordering::Relaxed,
                    )
                    .is_err()
                {
                    continue;
                }
                cursor.set(pos.wrapping_add(1));
                advance(head, pos.wrapping_add(1));
                return Ok(RecvClaim {
                    ring: self,
                    slot,
                    base,
                    waiter: s & WAITER != 0,
                });
            }
            match self.look_recv(s, base, i, pos) {
                Look::Wait(step) => return Err(step),
                // Position `pos` was taken (and maybe skipped): move on.
                Look::Passed { hint } => {
                    stale.passed(i, s)?;
                    cursor.pass(pos, head, hint);
                }
                // A stale read (`Open` was handled above): again.
                Look::Open | Look::Stale => stale.again(i, s)?,
            }
        }
    }

    /// Where position `pos` (in slot `i`, lap `base`) stands for a sender,
    /// from its slot's state `s`: the one classification that
    /// [`claim_send`](Ring::claim_send) and the async helpers'
    /// [`probe_send`](Ring::probe_send) share, so they cannot disagree.
    #[inline]
    fn look_send(&self, s: u64, base: u64, i: usize, pos: u64) -> Look {
        let cap = self.capacity as i64;
        match decode(s, base) {
            State::Free { rel: 0 } => Look::Open,
            State::Full { rel } if rel == -cap => Look::Wait(Step::Blocked { slot: i, state: s }),
            State::Writing { rel, pid } | State::Reading { rel, pid } if rel == -cap => {
                Look::Wait(Step::Claimed {
                    slot: i,
                    state: s,
                    pos: pos.wrapping_sub(self.capacity),
                    pid,
                })
            }
            State::Free { rel }
            | State::Full { rel }
            | State::Writing { rel, .. }
            | State::Reading { rel, .. }
                if rel >= 0 =>
            {
                Look::Passed { hint: false }
            }
            _ => Look::Stale,
        }
    }

    /// Where position `pos` stands for a receiver: as
    /// [`look_send`](Ring::look_send), for [`claim_recv`](Ring::claim_recv)
    /// and [`probe_recv`](Ring::probe_recv).
    #[inline]
    fn look_recv(&self, s: u64, base: u64, i: usize, pos: u64) -> Look {
        let cap = self.capacity as i64;
        match decode(s, base) {
            State::Full { rel: 0 } => Look::Open,
            State::Free { rel: 0 } => Look::Wait(Step::Blocked { slot: i, state: s }),
            State::Writing { rel: 0, pid } => Look::Wait(Step::Claimed {
                slot: i,
                state: s,
                pos,
                pid,
            }),
            State::Reading { rel, pid } if rel == -cap => Look::Wait(Step::Claimed {
                slot: i,
                state: s,
                pos: pos.wrapping_sub(self.capacity),
                pid,
            }),
            // A receiver claimed `pos` and moved the hint itself.
            State::Reading { rel, .. } if rel >= 0 => Look::Passed { hint: false },
            // Received or skipped: a skipped position had no receiver to
            // move the hint past it, so the first one to pass it does (see
            // `advance`).
            State::Free { rel } if rel >= cap => Look::Passed { hint: true },
            State::Full { rel } | State::Writing { rel, .. } if rel > 0 => {
                Look::Passed { hint: true }
            }
            _ => Look::Stale,
        }
    }

    /// Ends a claim by skipping its position: the slot becomes free for
    /// the next lap, and every sleeper looks again.
    fn skip(&self, slot: &Slot<T>, base: u64) {
        slot.state
            .store(open_state(FREE, base + self.capacity), Ordering::Release);
        wake(&self.control().send_event.0);
        wake(&self.control().recv_event.0);
    }

    /// Marks the state `state` of slot `slot` as waited on (a sleeper is
    /// about to sleep until it ends). False if the state has changed
    /// meanwhile: look again before sleeping.
    pub(crate) fn mark_waiter(&self, slot: usize, state: u64) -> bool {
        if state & WAITER != 0 {
            return self.slot_at(slot).state.load(Ordering::Acquire) == state;
        }
        self.slot_at(slot)
            .state
            .compare_exchange(state, state | WAITER, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Replaces the claim `state` on position `pos` of slot `slot` by
    /// `FREE(pos + capacity)`, skipping the position. The caller has seen
    /// the claimant dead. False if the state changed meanwhile.
    pub(crate) fn recover(&self, slot: usize, state: u64, pos: u64) -> bool {
        let recovered = self
            .slot_at(slot)
            .state
            .compare_exchange(
                state,
                open_state(FREE, self.base(pos) + self.capacity),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if recovered {
            // Senders may wait for this slot; receivers for a later one.
            wake(&self.control().send_event.0);
            wake(&self.control().recv_event.0);
        }
        recovered
    }

    /// The futex word receivers sleep on.
    pub(crate) fn recv_event(&self) -> &AtomicU32 {
        &self.control().recv_event.0
    }

    /// The futex word senders sleep on.
    pub(crate) fn send_event(&self) -> &AtomicU32 {
        &self.control().send_event.0
    }
}

/// Garbage as another process could write it, for the tests that check
/// the ring survives it.
#[cfg(test)]
impl<T: crate::ShmSafe> Ring<T> {
    pub(crate) fn overwrite_hints(&self, tail: u64, head: u64) {
        self.control().tail.0.store(tail, Ordering::Relaxed);
        self.control().head.0.store(head, Ordering::Relaxed);
    }

    pub(crate) fn overwrite_state(&self, slot: usize, state: u64) {
        let (slot, _, _) = self.state_of(slot as u64);
        slot.state.store(state, Ordering::Relaxed);
    }
}

/// Non-consuming looks at the ring, for the async wrappers' helper threads
/// (`crate::aio`): they wait *for* a claim to be possible, and leave the
/// claim itself to the task, so that a dropped future never holds one.
#[cfg(feature = "tokio")]
impl<T: crate::ShmSafe> Ring<T> {
    /// Whether [`claim_send`](Ring::claim_send) from `cursor` would find a
    /// free slot now (`Ok`), or what is in its way: the same answers,
    /// without claiming. Moves `cursor` past positions already taken, as a
    /// claim would.
    pub(crate) fn probe_send(&self, cursor: &Cursor) -> Result<(), Step> {
        let tail = &self.control().tail.0;
        let mut stale = Stale::default();
        loop {
            let pos = cursor.get();
            let (slot, base, i) = self.state_of(pos);
            let s = slot.state.load(Ordering::Acquire);
            match self.look_send(s, base, i, pos) {
                Look::Open => return Ok(()),
                Look::Wait(step) => return Err(step),
                Look::Passed { hint } => {
                    stale.passed(i, s)?;
                    cursor.pass(pos, tail, hint);
                }
                Look::Stale => stale.again(i, s)?,
            }
        }
    }

    /// Whether [`claim_recv`](Ring::claim_recv) from `cursor` would find a
    /// value now (`Ok`), or what is in its way, without claiming; moves
    /// `cursor` (and the head hint) past positions already taken, as a
    /// claim would.
    pub(crate) fn probe_recv(&self, cursor: &Cursor) -> Result<(), Step> {
        let head = &self.control().head.0;
        let mut stale = Stale::default();
        loop {
            let pos = cursor.get();
            let (slot, base, i) = self.state_of(pos);
            let s = slot.state.load(Ordering::Acquire);
            match self.look_recv(s, base, i, pos) {
                Look::Open => return Ok(()),
                Look::Wait(step) => return Err(step),
                Look::Passed { hint } => {
                    stale.passed(i, s)?;
                    cursor.pass(pos, head, hint);
                }
                Look::Stale => stale.again(i, s)?,
            }
        }
    }
}

/// How a waiter gets past the [`Step`] that stopped its claim, for the
/// blocking calls and the async helper threads alike; counts the claims of
/// other processes met in a row.
#[derive(Debug, Default)]
pub(crate) struct InTheWay(u32);

impl InTheWay {
    /// Waits out `step`, for at most about `left`. `seen` is `event` (this
    /// side's futex word) as read before the attempt.
    ///
    /// Blocked: marks the state as waited on and sleeps on `event` (the
    /// other side's claim of that state reads the mark and wakes it; a
    /// failed mark means the state changed: look again at once). Claimed:
    /// another process copies a value in or out of the slot in the way —
    /// nanoseconds, unless it was descheduled, stopped or killed — so yield,
    /// then nap longer and longer, and skip the claim once its process is
    /// dead.
    pub(crate) fn wait_out<T: crate::ShmSafe>(
        &mut self,
        ring: &Ring<T>,
        event: &AtomicU32,
        seen: u32,
        step: Step,
        left: Duration,
    ) {
        match step {
            Step::Blocked { slot, state } => {
                self.0 = 0;
                if ring.mark_waiter(slot, state) {
                    futex_wait(event, seen, left);
                }
            }
            Step::Claimed {
                slot,
                state,
                pos,
                pid,
            } => {
                self.0 = self.0.saturating_add(1);
                if self.0 > 8 && pid_is_dead(pid) {
                    ring.recover(slot, state, pos);
                } else if self.0 <= 64 {
                    std::thread::yield_now();
                } else {
                    let nap = Duration::from_micros(u64::from(self.0.min(1000)));
                    std::thread::sleep(nap.min(left));
                }
            }
        }
    }

    /// Forgets the claims met so far (the waiter got past them).
    #[cfg(feature = "tokio")]
    pub(crate) fn clear(&mut self) {
        self.0 = 0;
    }
}

/// A handle's guess of its next position: where its last claim ended.
/// Every process keeps its own, so that in steady use a claim touches only
/// the slot (see the module docs). Shared by the threads using one handle;
/// a stale value costs a few extra looks, never correctness.
#[derive(Debug)]
pub(crate) struct Cursor(AtomicU64);

impl Cursor {
    #[inline]
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    #[inline]
    fn set(&self, pos: u64) {
        self.0.store(pos, Ordering::Relaxed);
    }

    /// Moves past the taken position `pos`: to the next one, or to the side's
    /// `hint` if that is further; first moves the hint past `pos` if
    /// `move_hint` (see [`Look::Passed`]).
    #[inline]
    fn pass(&self, pos: u64, hint: &AtomicU64, move_hint: bool) {
        if move_hint {
            advance(hint, pos.wrapping_add(1));
        }
        self.set(pos.wrapping_add(1).max(hint.load(Ordering::Relaxed)));
    }
}

/// `prefetchw`: fetch the line at `p` for writing, without waiting.
#[inline]
fn prefetch_write<U>(p: *const U) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetchw` only moves a cache line; it never faults (not
    // even on an unmapped address), writes no register, flag or memory,
    // and is a no-op on CPUs without it (the 0F 0D opcode is a NOP there).
    unsafe {
        std::arch::asm!("prefetchw [{0}]", in(reg) p, options(nostack, preserves_flags, readonly));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// `prefetcht0`: fetch the line at `p` for reading, without waiting.
#[inline]
fn prefetch_read<U>(p: *const U) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` only moves a cache line; it never faults (not
    // even on an unmapped address) and writes no register, flag or memory.
    unsafe {
        std::arch::asm!("prefetcht0 [{0}]", in(reg) p, options(nostack, preserves_flags, readonly));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Stale reads of a position allowed in one claim or probe before it gives
/// up as if blocked. A stale read is a race a few reads settle; a slot state
/// that stays older than its position (or a hint far ahead of the slots)
/// means another process wrote garbage into the channel: then `try_*` say
/// Busy, timed calls time out and blocking ones sleep between looks, where
/// they would spin at 100 % CPU for ever.
const STALE_READS: u32 = 1 << 12;

/// Counts the stale reads of one claim or probe (see [`STALE_READS`]).
#[derive(Default)]
struct Stale(u32);

impl Stale {
    /// Another stale read of slot `slot` in state `state`: spins, or, past
    /// the budget, reports the position blocked.
    #[inline]
    fn again(&mut self, slot: usize, state: u64) -> Result<(), Step> {
        self.0 += 1;
        if self.0 > STALE_READS {
            return Err(Step::Blocked { slot, state });
        }
        std::hint::spin_loop();
        Ok(())
    }

    /// A position passed (taken by another handle). Each is another
    /// handle's progress, so there is no spin; but garbage hints near 2^64
    /// can send a cursor round in circles (the hint pulls it back past the
    /// wrap), so passes count too, with a budget no real race reaches.
    #[inline]
    fn passed(&mut self, slot: usize, state: u64) -> Result<(), Step> {
        self.0 += 1;
        if self.0 > STALE_READS * 16 {
            return Err(Step::Blocked { slot, state });
        }
        Ok(())
    }
}

/// Positions between two moves of a hint.
const HINT_EVERY: u64 = 16;

/// Moves the hint `hint` up to `to` (never down) after a claim of `to - 1`,
/// when `to` is a multiple of [`HINT_EVERY`]: the hint trails the claims by
/// less than that (cursors and [`Ring::len`] scan forward from it), and its
/// line is written once per [`HINT_EVERY`] values instead of once per value.
#[inline]
fn advance(hint: &AtomicU64, to: u64) {
    if to % HINT_EVERY == 0 {
        // Relaxed: the hint is only a guess where to start; every claim is
        // decided by a slot's state word.
        hint.fetch_max(to, Ordering::Relaxed);
    }
}

/// This thread's claim on a position to send: the slot is ours until the
/// claim is committed (the value is published) or dropped (the position is
/// skipped, as if this process had died).
pub(crate) struct SendClaim<'a, T: crate::ShmSafe> {
    ring: &'a Ring<T>,
    slot: &'a Slot<T>,
    base: u64,
    /// A receiver sleeps until this position is published.
    waiter: bool,
}

impl<T: crate::ShmSafe> SendClaim<'_, T> {
    /// Moves `value` into the slot, not dropping the bytes that were there.
    #[inline]
    pub(crate) fn write(&mut self, value: T) {
        // SAFETY: the claim (a compare-and-swap to WRITING(base, our pid)
        // in `claim_send`) keeps every other thread of every process away
        // from the value until the state changes, which only `commit`, Drop
        // or a recovery after this process died does; the slot is aligned
        // for T (`geometry`).
        unsafe { self.slot.value.get().write(value) };
    }

    /// The slot's value, to fill in place. It holds the bytes of an earlier
    /// value (a valid T, already received): assigning to it drops them.
    pub(crate) fn value_mut(&mut self) -> &mut T {
        // SAFETY: as in `write`; the bytes are a valid T (ShmSafe: every bit
        // pattern is), and the reference borrows the claim, so it ends
        // before the claim is committed or dropped.
        unsafe { &mut *self.slot.value.get() }
    }

    /// Publishes the value: `FULL(pos)`, and a wake-up if a receiver sleeps.
    #[inline]
    pub(crate) fn commit(self) {
        let this = std::mem::ManuallyDrop::new(self);
        this.slot
            .state
            .store(open_state(FULL, this.base), Ordering::Release);
        if this.waiter {
            wake(&this.ring.control().recv_event.0);
        }
    }
}

impl<T: crate::ShmSafe> Drop for SendClaim<'_, T> {
    fn drop(&mut self) {
        self.ring.skip(self.slot, self.base);
    }
}

/// This thread's claim on a value to receive: the slot is ours until the
/// claim is dropped (the slot is freed).
pub(crate) struct RecvClaim<'a, T: crate::ShmSafe> {
    ring: &'a Ring<T>,
    slot: &'a Slot<T>,
    base: u64,
    /// A sender sleeps until this slot is freed.
    waiter: bool,
}

impl<T: crate::ShmSafe> RecvClaim<'_, T> {
    /// The value, in place.
    pub(crate) fn value(&self) -> &T {
        // SAFETY: the claim (a compare-and-swap from FULL(base), read with
        // acquire, to READING(base, our pid)) orders the sender's write of
        // the value before this read and keeps every other thread away
        // until Drop frees the slot; every bit pattern is a valid T.
        unsafe { &*self.slot.value.get() }
    }

    /// Moves the value out and frees the slot.
    #[inline]
    pub(crate) fn take(self) -> T {
        // SAFETY: as in `value`; ownership of the value moves out of the
        // slot, which is freed right after and never reads it again.
        unsafe { self.slot.value.get().read() }
    }
}

impl<T: crate::ShmSafe> Drop for RecvClaim<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.slot.state.store(
            open_state(FREE, self.base + self.ring.capacity),
            Ordering::Release,
        );
        if self.waiter {
            wake(&self.ring.control().send_event.0);
        }
    }
}

/// Bumps the futex word `event` and wakes everyone sleeping on it.
///
/// Why no wake-up is lost: a sleeper loads `event` (acquire), then sets the
/// waiter bit on a slot state with a compare-and-swap, then sleeps with
/// `futex(FUTEX_WAIT, loaded value)`. The claimant whose compare-and-swap on
/// that state reads the bit calls this afterwards. Its increment cannot be
/// the value the sleeper loaded (that would order the claim before the
/// sleeper's compare-and-swap, which the claim read), so the kernel either
/// sees a changed word and returns at once, or finds the sleeper queued.
fn wake(event: &AtomicU32) {
    event.fetch_add(1, Ordering::Release);
    futex_wake(event);
}

/// Sleeps while `event` holds `expected`, at most `timeout`; returns on a
/// wake-up, a signal, a timeout or a changed word alike (the caller looks
/// again).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn futex_wait(event: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i32::MAX as u64) as _,
        tv_nsec: timeout.subsec_nanos() as _,
    };
    // SAFETY: `event` is a live, aligned u32 in a MAP_SHARED mapping (no
    // FUTEX_PRIVATE_FLAG: waiters and wakers are in different processes);
    // `ts` is a valid relative timeout that outlives the call; the unused
    // arguments are ignored by FUTEX_WAIT. Any error (EAGAIN: the word
    // changed, EINTR, ETIMEDOUT) means "look again".
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            event.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &raw const ts,
            std::ptr::null::<u32>(),
            0u32,
        )
    };
}

/// `futex(FUTEX_WAKE, all)` on `event`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn futex_wake(event: &AtomicU32) {
    // SAFETY: `event` is a live, aligned u32 in a shared mapping; FUTEX_WAKE
    // only reads the address to find the waiters.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            event.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        )
    };
}

/// Without futexes, sleepers poll: a short sleep, bounded by `timeout`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn futex_wait(_event: &AtomicU32, _expected: u32, timeout: Duration) {
    std::thread::sleep(timeout.min(Duration::from_micros(200)));
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn futex_wake(_event: &AtomicU32) {}

/// This process's pid, cached (`getpid` is a system call with glibc ≥ 2.25)
/// and reset in the child of a `fork`.
pub(crate) fn my_pid() -> u32 {
    static PID: AtomicU32 = AtomicU32::new(0);
    static AT_FORK: std::sync::Once = std::sync::Once::new();
    extern "C" fn forget() {
        PID.store(0, Ordering::Relaxed);
    }
    let pid = PID.load(Ordering::Relaxed);
    if pid != 0 {
        return pid;
    }
    AT_FORK.call_once(|| {
        // SAFETY: `forget` is a valid extern "C" fn that only stores to an
        // atomic, which is async-signal-safe, as a fork handler must be.
        unsafe { libc::pthread_atfork(None, None, Some(forget)) };
    });
    let pid = std::process::id();
    PID.store(pid, Ordering::Relaxed);
    pid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        let s = claim_state(WRITING, 1 << 41 | 5, 4_194_303);
        match decode(s, 5) {
            State::Writing { rel, pid } => {
                assert_eq!(rel, 0);
                assert_eq!(pid, 4_194_303);
            }
            other => panic!("{other:?}"),
        }
        match decode(claim_state(READING, 3, 7), 11) {
            State::Reading { rel, pid } => assert_eq!((rel, pid), (-8, 7)),
            other => panic!("{other:?}"),
        }
        match decode(open_state(FULL, 100) | WAITER, 108) {
            State::Full { rel } => assert_eq!(rel, -8),
            other => panic!("{other:?}"),
        }
        match decode(open_state(FREE, 9), 1) {
            State::Free { rel } => assert_eq!(rel, 8),
            other => panic!("{other:?}"),
        }
    }
}
