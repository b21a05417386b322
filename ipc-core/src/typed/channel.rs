//! [`Channel<T>`]: typed messages through shared memory, any number of
//! sending and receiving processes.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::object::{self, Common, type_name};
use super::shm_safe::{primitive, struct_field, struct_start};
use crate::deadline::Deadline;
use crate::sys::object::{ObjectKind, Spec, pid_is_dead};
use crate::sys::ring::{
    self, Control, Cursor, InTheWay, MAX_CAPACITY, PAYLOAD_AT, RecvClaim, Ring, SendClaim, Slot,
    Step,
};
use crate::{Error, ErrorKind, Result, ShmSafe};

/// A bounded queue of `T`s in a named shared-memory object: any number of
/// processes (and threads) send and receive; every value sent is received
/// exactly once, and the values of one sender arrive in the order it sent
/// them.
///
/// Values are copied into fixed-size slots of a ring — no system call, no
/// allocation and no lock on the way. A full channel makes
/// [`send`](Sender::send) wait (and [`try_send`](Sender::try_send) fail with
/// [`ErrorKind::Busy`]); nothing is ever dropped. A waiting call first polls
/// for up to 50 µs (never when only one CPU is online; backing off when
/// polling keeps failing), then sleeps on a futex in the shared memory, so
/// an idle receiver uses no CPU. A sender or receiver makes a system call
/// only when the other side sleeps. Timeouts run on CLOCK_MONOTONIC and
/// signals do not cut them short.
///
/// # Crash safety
///
/// A process killed in the middle of a `send` or `recv` cannot wedge the
/// channel: every slot it claimed carries its pid, and whoever finds that
/// slot in its way and the process gone skips it. What is lost is at most the
/// one value each killed process was handling: a value it was sending (its
/// `send` never returned) or a value it was receiving (taken from the
/// channel, never returned by its `recv`). Nothing else is lost or
/// delivered twice. Pids are compared within one pid namespace; a dead
/// claimant's pid reused by a new process delays the skip until that
/// process exits.
///
/// Without Linux futexes (macOS, the BSDs), waiting callers poll with short
/// sleeps instead of sleeping until woken.
///
/// The object starts with the header of every typed object ([`Shared`](crate::Shared)):
/// opening a channel made for another `T` (another
/// [`LAYOUT`](ShmSafe::LAYOUT)), with another capacity, or an object that is
/// no channel is [`ErrorKind::InvalidData`].
///
/// # Examples
///
/// ```
/// use ipc::Channel;
///
/// let name = format!("/doc.channel.{}", std::process::id());
/// let channel = Channel::<[u64; 2]>::create(&name, 64)?;
/// let tx = channel.sender();
/// tx.send([1, 2])?;
///
/// let rx = Channel::<[u64; 2]>::open(&name)?.receiver(); // as another process would
/// assert_eq!(rx.recv()?, [1, 2]);
/// channel.unlink()?;
/// # Ok::<(), ipc::Error>(())
/// ```
pub struct Channel<T: ShmSafe> {
    inner: Arc<Inner<T>>,
}

/// Sends values into a [`Channel`]; made by [`Channel::sender`]. Cloning
/// gives another sender of the same channel.
pub struct Sender<T: ShmSafe> {
    inner: Arc<Inner<T>>,
    cursor: Cursor,
    spin: Spin,
}

/// Receives values from a [`Channel`]; made by [`Channel::receiver`].
/// Cloning gives another receiver of the same channel.
pub struct Receiver<T: ShmSafe> {
    inner: Arc<Inner<T>>,
    cursor: Cursor,
    spin: Spin,
}

struct Inner<T: ShmSafe> {
    ring: Ring<T>,
    name: Arc<str>,
    capacity: usize,
}

/// How long a sleeper sleeps at most before it looks again: the bound on
/// how long a claim left by a killed process (which can no longer wake
/// anyone) delays a sleeper.
const WATCHDOG: Duration = Duration::from_millis(50);

/// The fingerprint of the slot holding a `T`, and of the ring's format.
fn layout<T: ShmSafe>() -> u64 {
    let hash = struct_start(size_of::<Slot<T>>(), align_of::<Slot<T>>());
    let hash = struct_field(
        hash,
        "ring",
        0,
        primitive("ipc-ring-1", size_of::<Control>(), 64),
    );
    let hash = struct_field(hash, "value", ring::value_offset::<T>(), T::LAYOUT);
    struct_field(
        hash,
        "state",
        ring::state_offset::<T>(),
        primitive("u64", 8, 8),
    )
}

/// The object for a channel of `capacity` values of `T`, or `None` if it
/// is too large to map.
fn spec<T: ShmSafe>(capacity: usize) -> Option<Spec> {
    let (_, len) = ring::geometry::<T>(PAYLOAD_AT, capacity)?;
    Spec::new::<Control>(ObjectKind::Channel, layout::<T>(), len, capacity as u64)
}

impl<T: ShmSafe> Channel<T> {
    /// Opens the channel `name`, or creates it with room for `capacity`
    /// values if it does not exist (mode `0o600`).
    ///
    /// Any number of processes may `create` the same name at once: one
    /// creates it, the others open it.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidInput`]: `capacity` is 0, above 2^32, or the
    ///   channel would not fit in memory.
    /// - [`ErrorKind::InvalidData`]: the object exists but is not a channel of
    ///   `T` with this capacity (another `T`, another capacity, a
    ///   [`Shared`](crate::Shared), a plain shared-memory object, garbage);
    ///   the message says what was expected and what was found.
    /// - [`ErrorKind::InvalidName`], [`ErrorKind::PermissionDenied`] and the
    ///   rest as [`SharedMemoryOptions::open`](crate::SharedMemoryOptions::open).
    ///   Other OS errors are reported as [`ErrorKind::Other`].
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-create.{}", std::process::id());
    /// let channel = ipc::Channel::<u64>::create(&name, 1024)?;
    /// assert_eq!(channel.capacity(), 1024);
    /// assert!(ipc::Channel::<u64>::create(&name, 8).is_err()); // another capacity
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create(name: &str, capacity: usize) -> Result<Channel<T>> {
        let common = Common {
            create: true,
            ..Common::default()
        };
        Self::establish("Channel::create", name, common, Some(capacity))
    }

    /// Creates the channel `name` with room for `capacity` values.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] if the name exists; otherwise as
    /// [`create`](Channel::create).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-create-new.{}", std::process::id());
    /// let channel = ipc::Channel::<u32>::create_new(&name, 16)?;
    /// let err = ipc::Channel::<u32>::create_new(&name, 16).unwrap_err();
    /// assert_eq!(err.kind(), ipc::ErrorKind::AlreadyExists);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn create_new(name: &str, capacity: usize) -> Result<Channel<T>> {
        let common = Common {
            create_new: true,
            ..Common::default()
        };
        Self::establish("Channel::create_new", name, common, Some(capacity))
    }

    /// Opens the existing channel `name`, whatever its capacity.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if it does not exist;
    /// [`ErrorKind::InvalidData`] if it is not a channel of `T` (also when it
    /// stays empty, size 0, for 100 ms: no creator is sizing it); otherwise as
    /// [`create`](Channel::create).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-open.{}", std::process::id());
    /// let channel = ipc::Channel::<u16>::create(&name, 4)?;
    /// assert_eq!(ipc::Channel::<u16>::open(&name)?.capacity(), 4);
    /// let err = ipc::Channel::<u32>::open(&name).unwrap_err(); // another T
    /// assert_eq!(err.kind(), ipc::ErrorKind::InvalidData);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn open(name: &str) -> Result<Channel<T>> {
        Self::establish("Channel::open", name, Common::default(), None)
    }

    fn establish(
        op: &'static str,
        name: &str,
        common: Common,
        capacity: Option<usize>,
    ) -> Result<Channel<T>> {
        if let Some(capacity) = capacity {
            check_capacity(op, name, capacity)?;
        }
        if !ring::pid_fits(ring::my_pid()) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                op,
                None,
                "this process's pid does not fit in a channel slot (22 bits)",
            ));
        }
        let (shm, created) = object::open_shm(name, common)?;
        let asked = capacity;
        let capacity = match capacity {
            Some(capacity) => capacity,
            None => capacity_of::<T>(op, &shm)?,
        };
        let opened = object::establish_on::<Control>(
            op,
            &shm,
            created,
            common,
            spec::<T>(capacity),
            &|| match asked {
                Some(capacity) => format!("{} of capacity {capacity}", type_name::<T>("Channel")),
                None => type_name::<T>("Channel"),
            },
            &mut |_, _| Ok(()),
        )?;
        let ring = Ring::new(opened.region, capacity).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidData,
                op,
                Some(&opened.name),
                "the mapping is too short for its capacity",
            )
        })?;
        Ok(Channel {
            inner: Arc::new(Inner {
                ring,
                name: opened.name,
                capacity,
            }),
        })
    }

    /// A sender of this channel. Senders are cheap; each keeps its own
    /// polling statistics.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-sender.{}", std::process::id());
    /// let channel = ipc::Channel::<u8>::create(&name, 2)?;
    /// channel.sender().send(7)?;
    /// assert_eq!(channel.len(), 1);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn sender(&self) -> Sender<T> {
        Sender {
            cursor: self.inner.ring.send_cursor(),
            inner: Arc::clone(&self.inner),
            spin: Spin::default(),
        }
    }

    /// A receiver of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-receiver.{}", std::process::id());
    /// let channel = ipc::Channel::<u8>::create(&name, 2)?;
    /// channel.sender().send(7)?;
    /// assert_eq!(channel.receiver().recv()?, 7);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn receiver(&self) -> Receiver<T> {
        Receiver {
            cursor: self.inner.ring.recv_cursor(),
            inner: Arc::clone(&self.inner),
            spin: Spin::default(),
        }
    }

    /// How many values the channel holds at most.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// How many values are waiting now: a snapshot, which other processes
    /// may change at once (a value being copied in or out counts as sent or
    /// received).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-len.{}", std::process::id());
    /// let channel = ipc::Channel::<u32>::create(&name, 8)?;
    /// let tx = channel.sender();
    /// tx.send(1)?;
    /// tx.send(2)?;
    /// assert_eq!(channel.len(), 2);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.ring.len()
    }

    /// Whether no value is waiting now (see [`len`](Channel::len)).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name this handle was opened with.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Removes the name ([`crate::unlink_shared_memory`]). Handles stay
    /// usable; a process that opens the name afterwards gets a new, distinct
    /// channel, so unlink at teardown, when no process will open it again.
    ///
    /// # Errors
    ///
    /// As [`crate::unlink_shared_memory`].
    pub fn unlink(&self) -> Result<()> {
        crate::unlink_shared_memory(&self.inner.name)
    }
}

// On 32-bit targets no usize exceeds MAX_CAPACITY; on 64-bit ones it can.
#[allow(clippy::absurd_extreme_comparisons)]
fn check_capacity(op: &'static str, name: &str, capacity: usize) -> Result<()> {
    if capacity == 0 || capacity > MAX_CAPACITY {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            op,
            Some(&Arc::from(name)),
            format!("capacity must be between 1 and {MAX_CAPACITY}, not {capacity}"),
        ));
    }
    Ok(())
}

/// The capacity an existing channel object's size implies; 1 when it
/// implies none (establishing then reports what the object is).
fn capacity_of<T: ShmSafe>(op: &'static str, shm: &crate::SharedMemory) -> Result<usize> {
    let started = Instant::now();
    let size = loop {
        let size = shm.size()?;
        // A creator sizes the object right after creating it.
        if size != 0 || started.elapsed() > Duration::from_millis(100) {
            break size;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    if size == 0 {
        return Err(Error::new(
            ErrorKind::InvalidData,
            op,
            Some(&Arc::from(shm.name())),
            format!(
                "expected {}; found an empty object (size 0)",
                type_name::<T>("Channel")
            ),
        ));
    }
    let (_, fixed) = ring::geometry::<T>(PAYLOAD_AT, 0).unwrap_or((0, 0));
    let slots = size
        .checked_sub(PAYLOAD_AT + fixed)
        .filter(|bytes| bytes % size_of::<Slot<T>>() == 0)
        .map_or(1, |bytes| bytes / size_of::<Slot<T>>());
    Ok(slots.clamp(1, MAX_CAPACITY))
}

impl<T: ShmSafe> Sender<T> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// None in practice: a full channel is waited on (signals do not
    /// interrupt the wait). The `Result` is there for symmetry with
    /// [`send_timeout`](Sender::send_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-send.{}", std::process::id());
    /// let channel = ipc::Channel::<u64>::create(&name, 1)?;
    /// let (tx, rx) = (channel.sender(), channel.receiver());
    /// let peer = std::thread::spawn(move || rx.recv().and_then(|_| rx.recv()));
    /// tx.send(1)?;
    /// tx.send(2)?; // waits until the peer took the first
    /// assert_eq!(peer.join().unwrap()?, 2);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[inline]
    pub fn send(&self, value: T) -> Result<()> {
        // Claim first, then move `value` straight from where the caller put
        // it into the slot: no copy of a large T through this frame.
        let mut claim = self.claim(None, "Sender::send")?;
        claim.write(value);
        claim.commit();
        Ok(())
    }

    /// Sends `value` if there is room now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] when the channel is full (the value is dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-try-send.{}", std::process::id());
    /// let channel = ipc::Channel::<u64>::create(&name, 1)?;
    /// let tx = channel.sender();
    /// tx.try_send(1)?;
    /// assert_eq!(tx.try_send(2).unwrap_err().kind(), ipc::ErrorKind::Busy);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn try_send(&self, value: T) -> Result<()> {
        let ring = &self.inner.ring;
        match attempt(ring, || ring.claim_send(ring::my_pid(), &self.cursor)) {
            Some(mut claim) => {
                claim.write(value);
                claim.commit();
                Ok(())
            }
            None => Err(self.inner.busy("Sender::try_send", "the channel is full")),
        }
    }

    /// Sends `value`, waiting at most `timeout` while the channel is full
    /// (on CLOCK_MONOTONIC); `Duration::ZERO` only tries.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] when the time is up (the value is dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let name = format!("/doc.channel-send-timeout.{}", std::process::id());
    /// let channel = ipc::Channel::<u64>::create(&name, 1)?;
    /// let tx = channel.sender();
    /// tx.send_timeout(1, Duration::from_millis(10))?;
    /// let err = tx.send_timeout(2, Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err.kind(), ipc::ErrorKind::Busy);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<()> {
        if timeout.is_zero() {
            return self.try_send(value);
        }
        match Deadline::after(timeout) {
            None => self.send(value),
            Some(deadline) => self.send_until(value, Some(&deadline), "Sender::send_timeout"),
        }
    }

    #[inline]
    fn send_until(&self, value: T, deadline: Option<&Deadline>, op: &'static str) -> Result<()> {
        let mut claim = self.claim(deadline, op)?;
        claim.write(value);
        claim.commit();
        Ok(())
    }

    /// Claims a slot, waiting while the channel is full.
    #[inline]
    fn claim(&self, deadline: Option<&Deadline>, op: &'static str) -> Result<SendClaim<'_, T>> {
        let ring = &self.inner.ring;
        let claim = || ring.claim_send(ring::my_pid(), &self.cursor);
        if let Ok(claim) = claim() {
            return Ok(claim);
        }
        wait(
            ring,
            ring.send_event(),
            &self.spin,
            deadline,
            || ring.may_send(&self.cursor),
            claim,
        )
        .ok_or_else(|| {
            self.inner
                .busy(op, "the channel stayed full until the timeout")
        })
    }

    /// Sends a value built in place in the channel's slot: no copy, for
    /// large `T`. Waits while the channel is full, then runs `f` on the
    /// slot, which holds the bytes of an earlier value (write every field;
    /// assigning a whole `T` drops the old bytes).
    ///
    /// Other processes do not wait for `f`: receivers take the values
    /// behind it, and its value arrives when `f` returns. If `f` panics,
    /// nothing is sent and the panic goes on; if the process dies inside
    /// `f`, nothing is sent either and the others skip the slot.
    ///
    /// # Errors
    ///
    /// None in practice, as [`send`](Sender::send).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-send-with.{}", std::process::id());
    /// let channel = ipc::Channel::<[u8; 4096]>::create(&name, 4)?;
    /// channel.sender().send_with(|page| {
    ///     page.fill(0);
    ///     page[..5].copy_from_slice(b"hello");
    /// })?;
    /// let hello = channel.receiver().recv_with(|page| page[..5] == *b"hello")?;
    /// assert!(hello);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn send_with(&self, f: impl FnOnce(&mut T)) -> Result<()> {
        let mut claim = self.claim(None, "Sender::send_with")?;
        f(claim.value_mut());
        claim.commit();
        Ok(())
    }
}

impl<T: ShmSafe> Receiver<T> {
    /// Receives a value, waiting while the channel is empty.
    ///
    /// # Errors
    ///
    /// None in practice: an empty channel is waited on (signals do not
    /// interrupt the wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-recv.{}", std::process::id());
    /// let channel = ipc::Channel::<i32>::create(&name, 4)?;
    /// let tx = channel.sender();
    /// std::thread::spawn(move || tx.send(-1));
    /// assert_eq!(channel.receiver().recv()?, -1);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    #[inline]
    pub fn recv(&self) -> Result<T> {
        // Read the slot straight into the caller's result.
        let claim = self.claim(None, "Receiver::recv")?;
        Ok(claim.take())
    }

    /// Receives a value if one is waiting now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] when the channel is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-try-recv.{}", std::process::id());
    /// let channel = ipc::Channel::<i32>::create(&name, 4)?;
    /// let rx = channel.receiver();
    /// assert_eq!(rx.try_recv().unwrap_err().kind(), ipc::ErrorKind::Busy);
    /// channel.sender().send(5)?;
    /// assert_eq!(rx.try_recv()?, 5);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn try_recv(&self) -> Result<T> {
        let ring = &self.inner.ring;
        attempt(ring, || ring.claim_recv(ring::my_pid(), &self.cursor))
            .map(RecvClaim::take)
            .ok_or_else(|| {
                self.inner
                    .busy("Receiver::try_recv", "the channel is empty")
            })
    }

    /// Receives a value, waiting at most `timeout` while the channel is
    /// empty (on CLOCK_MONOTONIC); `Duration::ZERO` only tries.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Busy`] when the time is up.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let name = format!("/doc.channel-recv-timeout.{}", std::process::id());
    /// let channel = ipc::Channel::<i32>::create(&name, 4)?;
    /// let err = channel.receiver().recv_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(err.kind(), ipc::ErrorKind::Busy);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        if timeout.is_zero() {
            return self.try_recv();
        }
        match Deadline::after(timeout) {
            None => self.recv(),
            Some(deadline) => self.recv_until(Some(&deadline), "Receiver::recv_timeout"),
        }
    }

    #[inline]
    fn recv_until(&self, deadline: Option<&Deadline>, op: &'static str) -> Result<T> {
        let claim = self.claim(deadline, op)?;
        Ok(claim.take())
    }

    /// Claims the next value, waiting while the channel is empty.
    #[inline]
    fn claim(&self, deadline: Option<&Deadline>, op: &'static str) -> Result<RecvClaim<'_, T>> {
        let ring = &self.inner.ring;
        let claim = || ring.claim_recv(ring::my_pid(), &self.cursor);
        if let Ok(claim) = claim() {
            return Ok(claim);
        }
        wait(
            ring,
            ring.recv_event(),
            &self.spin,
            deadline,
            // Polling is claiming (see `Ring::claim_recv`).
            || true,
            claim,
        )
        .ok_or_else(|| {
            self.inner
                .busy(op, "the channel stayed empty until the timeout")
        })
    }

    /// Receives a value by reading it in place in the channel's slot: no
    /// copy, for large `T`. Waits while the channel is empty, then returns
    /// what `f` returns. The slot is freed when `f` returns or panics; if
    /// the process dies inside `f`, the others free it. Either way the
    /// value counts as received.
    ///
    /// # Errors
    ///
    /// None in practice, as [`recv`](Receiver::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// let name = format!("/doc.channel-recv-with.{}", std::process::id());
    /// let channel = ipc::Channel::<[u64; 512]>::create(&name, 2)?;
    /// channel.sender().send([3; 512])?;
    /// let sum: u64 = channel.receiver().recv_with(|v| v.iter().sum())?;
    /// assert_eq!(sum, 3 * 512);
    /// channel.unlink()?;
    /// # Ok::<(), ipc::Error>(())
    /// ```
    pub fn recv_with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R> {
        let claim = self.claim(None, "Receiver::recv_with")?;
        Ok(f(claim.value()))
    }
}

impl<T: ShmSafe> Inner<T> {
    fn busy(&self, op: &'static str, why: &'static str) -> Error {
        Error::new(ErrorKind::Busy, op, Some(&self.name), why)
    }
}

/// Tries once, and again after recovering a claim of a dead process.
fn attempt<T: ShmSafe, R>(
    ring: &Ring<T>,
    mut f: impl FnMut() -> std::result::Result<R, Step>,
) -> Option<R> {
    loop {
        match f() {
            Ok(r) => return Some(r),
            Err(Step::Claimed {
                slot,
                state,
                pos,
                pid,
            }) if pid_is_dead(pid) => {
                ring.recover(slot, state, pos);
            }
            Err(_) => return None,
        }
    }
}

/// Waits until `f` succeeds (`Some`) or `deadline` passes (`None`): polls
/// first (see [`Spin`]; `f` only when `ready` says it may succeed), then
/// sleeps on `event`, the futex word of this side.
fn wait<T: ShmSafe, R>(
    ring: &Ring<T>,
    event: &AtomicU32,
    spin: &Spin,
    deadline: Option<&Deadline>,
    ready: impl Fn() -> bool,
    mut f: impl FnMut() -> std::result::Result<R, Step>,
) -> Option<R> {
    if let Some(r) = spin.poll(deadline, ready, &mut f) {
        return Some(r);
    }
    let mut in_the_way = InTheWay::default();
    loop {
        let seen = event.load(Ordering::Acquire);
        let left = match deadline {
            None => WATCHDOG,
            Some(d) => d.remaining().min(WATCHDOG),
        };
        match f() {
            Ok(r) => return Some(r),
            Err(_) if left.is_zero() => return None,
            Err(step) => in_the_way.wait_out(ring, event, seen, step, left),
        }
    }
}

/// Bounded polling before sleeping, per handle: up to [`SPIN_BUDGET`],
/// yielding the CPU every [`SPIN_YIELD`] so that a peer on the same CPU can
/// run; suspended after [`SPIN_MISSES`] polls in a row that ran out (one
/// wait in [`SPIN_PROBE`] polls anyway), and never with one CPU online.
/// The numbers come from measurements on a 2-vCPU guest
/// (`ipc/benches/channel.rs`, and the semaphore's spin-then-block study):
/// waking a sleeping process costs ~25 µs there, so polling wins whenever
/// the peer answers within the budget. 50 µs covers a peer that was itself
/// asleep and has to be woken first (a request answered by a sleeping
/// server): the round trip then pays one wake-up instead of two (34 µs
/// instead of 62, POSIX mq 63–72, for 76 µs of CPU instead of 62–69). A
/// handle whose peer is slower stops polling after [`SPIN_MISSES`] misses.
#[derive(Default)]
struct Spin {
    misses: AtomicU32,
    skipped: AtomicU32,
}

const SPIN_BUDGET: Duration = Duration::from_micros(50);
const SPIN_YIELD: Duration = Duration::from_nanos(500);
const SPIN_MISSES: u32 = 4;
const SPIN_PROBE: u32 = 256;
/// Polls between two looks at the clock.
const SPIN_CLOCK: u32 = 8;

impl Spin {
    #[cold]
    fn poll<R>(
        &self,
        deadline: Option<&Deadline>,
        ready: impl Fn() -> bool,
        f: &mut impl FnMut() -> std::result::Result<R, Step>,
    ) -> Option<R> {
        if crate::sys::online_cpus() < 2 {
            return None;
        }
        if self.misses.load(Ordering::Relaxed) >= SPIN_MISSES
            && self.skipped.fetch_add(1, Ordering::Relaxed) % SPIN_PROBE != 0
        {
            return None;
        }
        let budget = deadline.map_or(SPIN_BUDGET, |d| d.remaining().min(SPIN_BUDGET));
        // The clock costs about as much as a poll: the first look at it is
        // after SPIN_CLOCK polls (~0.2 µs of `pause` here), then every
        // SPIN_CLOCK polls. The value usually comes before the first.
        let mut started = None;
        let mut last_yield = None;
        let mut polls = 0u32;
        loop {
            if ready() {
                if let Ok(r) = f() {
                    self.misses.store(0, Ordering::Relaxed);
                    return Some(r);
                }
            }
            std::hint::spin_loop();
            polls = polls.wrapping_add(1);
            if polls % SPIN_CLOCK != 0 {
                continue;
            }
            let now = Instant::now();
            let start = *started.get_or_insert(now);
            if now.duration_since(start) >= budget {
                self.misses.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            if now.duration_since(*last_yield.get_or_insert(now)) >= SPIN_YIELD {
                std::thread::yield_now();
                last_yield = Some(now);
            }
        }
    }
}

impl<T: ShmSafe> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            cursor: self.inner.ring.send_cursor(),
            inner: Arc::clone(&self.inner),
            spin: Spin::default(),
        }
    }
}

impl<T: ShmSafe> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            cursor: self.inner.ring.recv_cursor(),
            inner: Arc::clone(&self.inner),
            spin: Spin::default(),
        }
    }
}

impl<T: ShmSafe> fmt::Debug for Inner<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("type", &std::any::type_name::<T>())
            .field("capacity", &self.capacity)
            .field("len", &self.ring.len())
            .finish()
    }
}

impl<T: ShmSafe> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T: ShmSafe> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sender").field(&self.inner).finish()
    }
}

impl<T: ShmSafe> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Receiver").field(&self.inner).finish()
    }
}

impl<T: ShmSafe> fmt::Display for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.name)
    }
}

/// What the async wrappers (`crate::aio`, feature `tokio`) build on: the
/// ring, and tries that never block nor build an error.
#[cfg(feature = "tokio")]
impl<T: ShmSafe> Sender<T> {
    pub(crate) fn ring(&self) -> &Ring<T> {
        &self.inner.ring
    }

    /// This handle's guess of its next position (see `Ring::claim_send`).
    pub(crate) fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.inner.name
    }

    /// As [`try_send`](Sender::try_send), but a full channel gives the value
    /// back, so that a future can keep it for its next try.
    pub(crate) fn try_send_or_keep(&self, value: T) -> std::result::Result<(), T> {
        let ring = &self.inner.ring;
        match attempt(ring, || ring.claim_send(ring::my_pid(), &self.cursor)) {
            Some(mut claim) => {
                claim.write(value);
                claim.commit();
                Ok(())
            }
            None => Err(value),
        }
    }
}

#[cfg(feature = "tokio")]
impl<T: ShmSafe> Receiver<T> {
    pub(crate) fn ring(&self) -> &Ring<T> {
        &self.inner.ring
    }

    /// This handle's guess of its next position (see `Ring::claim_recv`).
    pub(crate) fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    pub(crate) fn shared_name(&self) -> &Arc<str> {
        &self.inner.name
    }

    /// As [`try_recv`](Receiver::try_recv), `None` when the channel is empty.
    pub(crate) fn try_take(&self) -> Option<T> {
        let ring = &self.inner.ring;
        attempt(ring, || ring.claim_recv(ring::my_pid(), &self.cursor)).map(RecvClaim::take)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::name;

    /// 4 sending and 3 receiving threads through 8 slots: every value once,
    /// each sender's values in order at every receiver.
    #[test]
    fn many_threads_exactly_once_in_order() {
        const SENDERS: u64 = 4;
        const EACH: u64 = 50_000;
        let name = name("threads");
        let channel = Channel::<[u64; 2]>::create_new(&name.0, 8).unwrap();
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let rx = channel.receiver();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        let [sender, seq] = rx.recv().unwrap();
                        if sender == u64::MAX {
                            return got;
                        }
                        got.push((sender, seq));
                    }
                })
            })
            .collect();
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let tx = channel.sender();
                std::thread::spawn(move || {
                    for seq in 0..EACH {
                        tx.send([s, seq]).unwrap();
                    }
                })
            })
            .collect();
        for s in senders {
            s.join().unwrap();
        }
        for _ in 0..3 {
            channel.sender().send([u64::MAX, 0]).unwrap();
        }
        let mut seen = vec![0u8; (SENDERS * EACH) as usize];
        for r in receivers {
            let got = r.join().unwrap();
            let mut last = [None; SENDERS as usize];
            for (sender, seq) in got {
                let prev = &mut last[sender as usize];
                assert!(prev.is_none_or(|p| p < seq), "out of order");
                *prev = Some(seq);
                seen[(sender * EACH + seq) as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "a value lost or duplicated");
        assert!(channel.is_empty());
    }

    /// A panic inside `send_with` sends nothing and leaves the channel
    /// working; one inside `recv_with` consumes the value.
    #[test]
    fn panics_in_place_skip_the_slot() {
        let name = name("panics");
        // A skipped slot takes room until the receivers pass it.
        let channel = Channel::<u64>::create_new(&name.0, 4).unwrap();
        let (tx, rx) = (channel.sender(), channel.receiver());
        tx.send(1).unwrap();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tx.send_with(|_| panic!("in send_with")).unwrap();
        }));
        assert!(panicked.is_err());
        tx.send(2).unwrap();
        assert_eq!(rx.recv().unwrap(), 1);
        assert_eq!(rx.recv().unwrap(), 2);
        tx.send(3).unwrap();
        tx.send(4).unwrap();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rx.recv_with(|_| panic!("in recv_with")).unwrap();
        }));
        assert!(panicked.is_err());
        assert_eq!(rx.recv().unwrap(), 4);
        assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::Busy);
    }

    /// `len` counts exactly in a quiet channel whatever the capacity and
    /// however far the values have gone round: the hints it scans from
    /// trail the true ends by up to `HINT_EVERY` positions, more than a
    /// small channel's capacity.
    #[test]
    fn len_is_exact_after_many_laps() {
        for cap in [1, 2, 3, 4, 5, 8, 16, 17, 40] {
            let name = name(&format!("len{cap}"));
            let channel = Channel::<u64>::create_new(&name.0, cap).unwrap();
            let (tx, rx) = (channel.sender(), channel.receiver());
            let mut next = 0;
            for round in 0..(3 * 16 + 5) {
                let n = 1 + round % cap;
                for i in 0..n {
                    tx.try_send(next + i as u64).unwrap();
                    assert_eq!(channel.len(), i + 1, "capacity {cap}, round {round}");
                }
                for i in 0..n {
                    assert_eq!(rx.try_recv().unwrap(), next + i as u64);
                    assert_eq!(channel.len(), n - i - 1, "capacity {cap}, round {round}");
                }
                next += n as u64;
            }
            for i in 0..cap {
                tx.try_send(i as u64).unwrap();
            }
            assert_eq!(channel.len(), cap);
            assert_eq!(tx.try_send(0).unwrap_err().kind(), ErrorKind::Busy);
        }
    }

    /// Positions skipped (a `send_with` that panicked) where the head hint
    /// would move: the receivers that pass them move it, so `len` stays
    /// exact however many there are.
    #[test]
    fn len_is_exact_past_skipped_positions() {
        for cap in [1, 2, 3, 17] {
            let name = name(&format!("skiplen{cap}"));
            let channel = Channel::<u64>::create_new(&name.0, cap).unwrap();
            let (tx, rx) = (channel.sender(), channel.receiver());
            let mut pos = 0u64;
            for value in 0..200u64 {
                if pos % 16 == 15 {
                    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        tx.send_with(|_| panic!("skip")).unwrap();
                    }));
                    assert!(panicked.is_err());
                    pos += 1;
                }
                tx.send(value).unwrap();
                pos += 1;
                assert_eq!(channel.len(), 1, "capacity {cap}, value {value}");
                assert_eq!(rx.recv().unwrap(), value);
                assert!(channel.is_empty(), "capacity {cap}, value {value}");
            }
        }
    }

    /// Capacity 0 and absurd capacities are refused before any system call.
    #[test]
    fn bad_capacities_are_invalid_input() {
        for cap in [0, MAX_CAPACITY + 1, usize::MAX] {
            let err = Channel::<u8>::create("/ipc-test.unit.never", cap).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{cap}");
        }
    }

    #[test]
    fn debug_needs_no_debug_t() {
        fn assert_send_sync<S: Send + Sync>() {}
        let name = name("debug");
        let channel = Channel::<[u8; 3]>::create_new(&name.0, 5).unwrap();
        let shown = format!(
            "{channel:?} {:?} {:?}",
            channel.sender(),
            channel.receiver()
        );
        assert!(shown.contains("capacity: 5"), "{shown}");
        assert_send_sync::<Channel<u64>>();
        assert_send_sync::<Sender<u64>>();
        assert_send_sync::<Receiver<u64>>();
    }

    /// Garbage another process wrote into the channel (a hint laps ahead
    /// of the slots or near 2^64, a slot state that decodes as older than
    /// its position) made every new handle's claim spin at 100 % CPU for
    /// ever, `try_*` and timed calls included, and overflowed a position in
    /// debug builds. Now they give up as if blocked: `try_*` are Busy, timed
    /// calls time out.
    #[test]
    fn garbage_never_makes_a_call_spin_for_ever() {
        type Corrupt = fn(&Ring<u64>);
        let cases: [(&str, Corrupt); 5] = [
            ("tail hint ahead", |r| r.overwrite_hints(1000, 0)),
            ("head hint ahead", |r| r.overwrite_hints(0, 1000)),
            ("hints near 2^64", |r| {
                r.overwrite_hints(u64::MAX - 1, u64::MAX - 1);
            }),
            ("slot state all ones", |r| r.overwrite_state(0, u64::MAX)),
            ("every slot garbage", |r| {
                for i in 0..4 {
                    r.overwrite_state(i, 0xdead_beef_dead_beef ^ i as u64);
                }
            }),
        ];
        for (what, corrupt) in cases {
            let name = name("garbage");
            let channel = Channel::<u64>::create_new(&name.0, 4).unwrap();
            corrupt(&channel.inner.ring);
            let (tx, rx) = (channel.sender(), channel.receiver());
            let (done, finished) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let short = Duration::from_millis(50);
                let _ = tx.try_send(1);
                let _ = tx.send_timeout(2, short);
                let _ = rx.try_recv();
                let _ = rx.recv_timeout(short);
                let _ = channel.len();
                done.send(()).unwrap();
            });
            assert!(
                finished.recv_timeout(Duration::from_secs(10)).is_ok(),
                "{what}: a try or timed call did not return in 10 s"
            );
        }
    }
}
