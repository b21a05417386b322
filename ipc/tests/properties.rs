//! Property tests: random sequences of queue operations against a model,
//! random bounds for `read_at`/`write_at`, and random out-of-range inputs to
//! every constructor and method, which must give `Err`, never a panic.

mod common;

use std::collections::BinaryHeap;
use std::time::Duration;

use common::Name;
use ipc::consts::{QUEUE_PRIORITY_MAX, SEMAPHORE_VALUE_MAX};
use ipc::{ErrorKind, MessageQueue, Semaphore, SharedMemory};
use proptest::prelude::*;

const CAPACITY: usize = 4;
const MAX_SIZE: usize = 16;

#[derive(Debug, Clone)]
enum Op {
    TrySend(usize, u32),
    SendTimeout(usize, u32),
    Send(usize, u32),
    TryReceive,
    ReceiveTimeout,
    Receive,
    ReceiveInto(usize),
    Count,
}

fn op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![4 => 0..=MAX_SIZE, 1 => MAX_SIZE + 1..100];
    let prio = prop_oneof![8 => 0..8u32, 1 => Just(QUEUE_PRIORITY_MAX), 1 => QUEUE_PRIORITY_MAX + 1..=u32::MAX];
    prop_oneof![
        (len.clone(), prio.clone()).prop_map(|(l, p)| Op::TrySend(l, p)),
        (len.clone(), prio.clone()).prop_map(|(l, p)| Op::SendTimeout(l, p)),
        (len, prio).prop_map(|(l, p)| Op::Send(l, p)),
        Just(Op::TryReceive),
        Just(Op::ReceiveTimeout),
        Just(Op::Receive),
        (0..2 * MAX_SIZE).prop_map(Op::ReceiveInto),
        Just(Op::Count),
    ]
}

/// The model: highest priority first, FIFO within one (by sequence number).
#[derive(Default)]
struct Model {
    heap: BinaryHeap<(u32, std::cmp::Reverse<u64>, Vec<u8>)>,
    seq: u64,
}

impl Model {
    fn send(&mut self, msg: Vec<u8>, prio: u32) {
        self.heap.push((prio, std::cmp::Reverse(self.seq), msg));
        self.seq += 1;
    }
    fn receive(&mut self) -> Option<(Vec<u8>, u32)> {
        self.heap.pop().map(|(p, _, m)| (m, p))
    }
}

fn message(len: usize, seq: u64) -> Vec<u8> {
    (0..len).map(|i| (seq as usize + i) as u8).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random send/receive/try/timeout sequences match the model.
    #[test]
    fn queue_matches_a_priority_queue_model(ops in prop::collection::vec(op(), 1..60)) {
        let name = Name::mq("prop");
        let mq = MessageQueue::options()
            .create_new(true)
            .max_messages(CAPACITY)
            .max_message_size(MAX_SIZE)
            .open(&name)
            .unwrap();
        let mut model = Model::default();
        let short = Duration::from_millis(1);
        for (i, op) in ops.into_iter().enumerate() {
            let full = model.heap.len() == CAPACITY;
            let empty = model.heap.is_empty();
            match op {
                Op::TrySend(len, prio) | Op::SendTimeout(len, prio) | Op::Send(len, prio) => {
                    let msg = message(len, i as u64);
                    let result = match op {
                        Op::TrySend(..) => mq.try_send(&msg, prio),
                        Op::SendTimeout(..) => mq.send_timeout(&msg, prio, short),
                        // A blocking send on a full queue would wait forever.
                        _ if full => mq.try_send(&msg, prio),
                        _ => mq.send(&msg, prio),
                    };
                    if len > MAX_SIZE || prio > QUEUE_PRIORITY_MAX {
                        prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidInput);
                    } else if full {
                        prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::Busy);
                    } else {
                        result.unwrap();
                        model.send(msg, prio);
                    }
                }
                Op::TryReceive | Op::ReceiveTimeout | Op::Receive => {
                    let result = match op {
                        Op::TryReceive => mq.try_receive(),
                        Op::ReceiveTimeout => mq.receive_timeout(short),
                        _ if empty => mq.try_receive(),
                        _ => mq.receive(),
                    };
                    if let Some(want) = model.receive() {
                        prop_assert_eq!(result.unwrap(), want);
                    } else {
                        prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::Busy);
                    }
                }
                Op::ReceiveInto(buf_len) => {
                    let mut buf = vec![0u8; buf_len];
                    let result = mq.try_receive_into(&mut buf);
                    if buf_len < MAX_SIZE {
                        prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidInput);
                    } else if let Some((msg, prio)) = model.receive() {
                        let (n, p) = result.unwrap();
                        prop_assert_eq!((&buf[..n], p), (&msg[..], prio));
                    } else {
                        prop_assert_eq!(result.unwrap_err().kind(), ErrorKind::Busy);
                    }
                }
                Op::Count => prop_assert_eq!(mq.current_messages().unwrap(), model.heap.len()),
            }
        }
    }

    /// read_at/write_at succeed exactly when the range is inside the
    /// mapping; a refused call changes nothing.
    #[test]
    fn mapping_bounds_hold(
        len in 1usize..10_000,
        accesses in prop::collection::vec(
            (prop_oneof![3 => 0usize..12_000, 1 => Just(usize::MAX), 1 => usize::MAX - 64..=usize::MAX],
             0usize..3_000),
            1..20,
        ),
    ) {
        let name = Name::shm("prop");
        let shm = SharedMemory::create_new(&name, len).unwrap();
        let map = shm.map().unwrap();
        prop_assert_eq!(map.len(), len);
        let mut mirror = vec![0u8; len];
        for (k, (offset, n)) in accesses.into_iter().enumerate() {
            let inside = offset.checked_add(n).is_some_and(|end| end <= len);
            let data = vec![k as u8 + 1; n];
            let w = map.write_at(offset, &data);
            let mut out = vec![0u8; n];
            let r = map.read_at(offset, &mut out);
            prop_assert_eq!(w.is_ok(), inside);
            prop_assert_eq!(r.is_ok(), inside);
            if inside {
                mirror[offset..offset + n].copy_from_slice(&data);
                prop_assert_eq!(&out, &data);
            } else {
                prop_assert_eq!(w.unwrap_err().kind(), ErrorKind::InvalidInput);
            }
        }
        let mut all = vec![0u8; len];
        map.read_at(0, &mut all).unwrap();
        prop_assert_eq!(all, mirror);
    }

    /// Out-of-range modes, values, sizes, priorities, lengths and signals
    /// are errors, never panics, and create nothing.
    #[test]
    fn out_of_range_inputs_are_errors(
        mode in 0o1000u32..=u32::MAX,
        value in SEMAPHORE_VALUE_MAX + 1..=u32::MAX,
        size in (i64::MAX as usize + 1)..=usize::MAX,
        prio in QUEUE_PRIORITY_MAX + 1..=u32::MAX,
        extra in 1usize..100_000,
        signal in prop_oneof![i32::MIN..=0, 65..=i32::MAX],
        limits in prop_oneof![Just((0usize, 8usize)), Just((1, 0)), (1usize << 20..1usize << 40, 1usize..8)],
    ) {
        let name = Name::sem("range");
        let invalid = ErrorKind::InvalidInput;
        prop_assert_eq!(Semaphore::options().create(true).mode(mode).open(&name).unwrap_err().kind(), invalid);
        prop_assert_eq!(Semaphore::options().create(true).initial_value(value).open(&name).unwrap_err().kind(), invalid);
        prop_assert_eq!(Semaphore::open(&name).unwrap_err().kind(), ErrorKind::NotFound);

        let shm_name = Name::shm("range");
        prop_assert_eq!(SharedMemory::create(&shm_name, size).unwrap_err().kind(), invalid);
        prop_assert_eq!(SharedMemory::options().create(true).mode(mode).open(&shm_name).unwrap_err().kind(), invalid);
        prop_assert_eq!(SharedMemory::open(&shm_name).unwrap_err().kind(), ErrorKind::NotFound);
        let shm = SharedMemory::create_new(&shm_name, 8).unwrap();
        prop_assert_eq!(shm.resize(size).unwrap_err().kind(), invalid);

        let mq_name = Name::mq("range");
        prop_assert_eq!(MessageQueue::options().create(true).mode(mode).open(&mq_name).unwrap_err().kind(), invalid);
        let err = MessageQueue::options()
            .create(true)
            .max_messages(limits.0)
            .max_message_size(limits.1)
            .open(&mq_name)
            .unwrap_err();
        prop_assert_eq!(err.kind(), invalid);
        prop_assert_eq!(MessageQueue::open(&mq_name).unwrap_err().kind(), ErrorKind::NotFound);
        let mq = MessageQueue::options().create_new(true).max_messages(1).max_message_size(8).open(&mq_name).unwrap();
        prop_assert_eq!(mq.send(b"", prio).unwrap_err().kind(), invalid);
        prop_assert_eq!(mq.try_send(&vec![0; 8 + extra], 0).unwrap_err().kind(), invalid);
        prop_assert_eq!(mq.receive_into(&mut vec![0; 8usize.saturating_sub(extra)]).unwrap_err().kind(), invalid);
        prop_assert_eq!(mq.notify_signal(signal).unwrap_err().kind(), invalid);
        prop_assert_eq!(mq.current_messages().unwrap(), 0);
    }

    /// Any string as a name: Ok exactly when `ipc::name::check` accepts it,
    /// otherwise InvalidName before any system call.
    #[test]
    fn any_name_is_checked_first(name in prop_oneof![".{0,300}", "/[a-z./\\x00]{0,8}"]) {
        let valid = ipc::name::check(&name, ipc::name::Kind::MessageQueue).is_ok();
        match MessageQueue::open(&name) {
            Err(e) if !valid => prop_assert_eq!(e.kind(), ErrorKind::InvalidName),
            Err(e) => prop_assert_ne!(e.kind(), ErrorKind::InvalidName),
            Ok(_) => prop_assert!(valid),
        }
        let sem_valid = ipc::name::check(&name, ipc::name::Kind::Semaphore).is_ok();
        prop_assert_eq!(
            ipc::unlink_semaphore(&name).unwrap_err().kind() == ErrorKind::InvalidName,
            !sem_valid
        );
    }
}
