//! Channels (LANGUAGE.md §5), as data: unbuffered (a rendezvous) or
//! buffered (a ring), with FIFO wait queues of blocked receivers and
//! senders. These functions change only the channel and say who must be
//! woken or whether the caller must block; the scheduler (`sched.rs`)
//! does the waking and parking.
//!
//! Cost: every operation is O(1) apart from growing the ring. The wait
//! queues are intrusive lists through the coroutines (`WaitQueue`), and
//! the ring is allocated on first use and doubled up to the channel's
//! capacity, so `Channel(100000000)` costs one small object until values
//! are actually buffered. A blocked sender keeps its value in `offer`.

use crate::error::RuntimeError;
use crate::mutator::Mutator;
use crate::native::NativeError;
use crate::object::{ChannelObj, CoroutineObj, Gc, ValueArrayObj};
use crate::value::Value;

/// The ring's first size (or the capacity, if smaller).
const INITIAL_RING: usize = 8;

/// What `send` did.
pub(crate) enum Sent {
    /// A blocked receiver took the value: wake it with the value.
    ToReceiver(Gc<CoroutineObj>),
    /// The value is in the ring.
    Buffered,
    /// No receiver and no room: the sender must block (`block_sender`).
    Blocked,
}

/// What `recv` got.
pub(crate) enum Received {
    /// A value; if it came from (or made room for) a blocked sender, that
    /// sender is to be woken.
    Value(Value, Option<Gc<CoroutineObj>>),
    /// Nothing to take: the receiver must block (`block_receiver`).
    Blocked,
}

/// `Channel(capacity)`.
pub(crate) fn new_channel(mu: &mut Mutator, capacity: usize) -> Result<Value, RuntimeError> {
    Ok(mu.alloc(ChannelObj::SIZE)?.init_channel(capacity).value())
}

/// Room for one more buffered value, growing the ring if it is full but
/// below the capacity. The channel must be rooted.
fn ring_reserve(mu: &mut Mutator, ch: Gc<ChannelObj>) -> Result<Gc<ValueArrayObj>, RuntimeError> {
    if let Some(buf) = ch.buffer().filter(|b| ch.count() < b.len()) {
        return Ok(buf);
    }
    let old_len = ch.buffer().map_or(0, |b| b.len());
    let new_len = (old_len * 2).max(INITIAL_RING).min(ch.capacity());
    let fresh = mu
        .alloc(ValueArrayObj::size_for(new_len))?
        .init_value_array(new_len);
    // The ring unrolled into the new array's front, oldest first.
    if let Some(old) = ch.buffer() {
        for i in 0..ch.count() {
            fresh.set(&mut mu.wb, i, old.get((ch.head() + i) % old_len));
        }
    }
    ch.set_buffer(&mut mu.wb, Some(fresh));
    ch.set_head(0);
    Ok(fresh)
}

/// `ch.send(v)`; `ch` and `v` must be rooted.
pub(crate) fn send(mu: &mut Mutator, ch: Gc<ChannelObj>, v: Value) -> Result<Sent, NativeError> {
    if ch.closed() {
        return Err("Send on closed channel.".into());
    }
    if let Some(receiver) = ch.recvq().pop_front(&mut mu.wb) {
        return Ok(Sent::ToReceiver(receiver));
    }
    if ch.count() < ch.capacity() {
        let buf = ring_reserve(mu, ch)?;
        buf.set(&mut mu.wb, (ch.head() + ch.count()) % buf.len(), v);
        ch.set_count(ch.count() + 1);
        return Ok(Sent::Buffered);
    }
    Ok(Sent::Blocked)
}

/// Queues `sender`, offering `v`, behind the channel's blocked senders.
pub(crate) fn block_sender(
    mu: &mut Mutator,
    ch: Gc<ChannelObj>,
    sender: Gc<CoroutineObj>,
    v: Value,
) {
    ch.sendq().push_back(&mut mu.wb, sender);
    sender.set_offer(&mut mu.wb, v);
}

/// Queues `receiver` behind the channel's blocked receivers.
pub(crate) fn block_receiver(mu: &mut Mutator, ch: Gc<ChannelObj>, receiver: Gc<CoroutineObj>) {
    ch.recvq().push_back(&mut mu.wb, receiver);
}

/// `ch.recv()`: a buffered value, a blocked sender's, `nil` once closed
/// and drained, or `Blocked`.
pub(crate) fn recv(mu: &mut Mutator, ch: Gc<ChannelObj>) -> Received {
    if ch.count() > 0 {
        let Some(buf) = ch.buffer() else {
            return Received::Value(Value::NIL, None);
        };
        let v = buf.get(ch.head());
        buf.set(&mut mu.wb, ch.head(), Value::NIL);
        ch.set_head((ch.head() + 1) % buf.len());
        ch.set_count(ch.count() - 1);
        // A blocked sender's value takes the freed place (the ring is only
        // full when it has reached the capacity).
        let sender = ch.sendq().pop_front(&mut mu.wb);
        if let Some(s) = sender {
            buf.set(&mut mu.wb, (ch.head() + ch.count()) % buf.len(), s.offer());
            ch.set_count(ch.count() + 1);
            s.set_offer(&mut mu.wb, Value::NIL);
        }
        return Received::Value(v, sender);
    }
    if let Some(sender) = ch.sendq().pop_front(&mut mu.wb) {
        let v = sender.offer();
        sender.set_offer(&mut mu.wb, Value::NIL);
        return Received::Value(v, Some(sender));
    }
    if ch.closed() {
        return Received::Value(Value::NIL, None);
    }
    Received::Blocked
}

/// `ch.close()`: marks the channel closed; the caller then wakes every
/// blocked receiver with nil and fails every blocked sender
/// (`pop_blocked`).
pub(crate) fn close(ch: Gc<ChannelObj>) -> Result<(), NativeError> {
    if ch.closed() {
        return Err("Close of closed channel.".into());
    }
    ch.set_closed(true);
    Ok(())
}

/// After `close`: the next blocked coroutine to release, and whether it
/// was a sender (which must fail with `Send on closed channel.`).
pub(crate) fn pop_blocked(
    mu: &mut Mutator,
    ch: Gc<ChannelObj>,
) -> Option<(Gc<CoroutineObj>, bool)> {
    if let Some(r) = ch.recvq().pop_front(&mut mu.wb) {
        return Some((r, false));
    }
    let s = ch.sendq().pop_front(&mut mu.wb)?;
    s.set_offer(&mut mu.wb, Value::NIL);
    Some((s, true))
}
