//! Channels (LANGUAGE.md §5): unbuffered (a rendezvous) or buffered (a
//! ring buffer), with FIFO wait queues of blocked receivers and senders.
//!
//! A blocking operation records what it waits for, sets `sched.park`, and
//! returns; the loop parks the coroutine once the native has returned.
//! Whoever completes the operation later writes the result into the
//! parked coroutine's result slot (`Vm::wake`). A blocked sender keeps its
//! value in `offer`.
//!
//! Cost: every operation is O(1) apart from growing the ring. The wait
//! queues are intrusive lists through the coroutines (`WaitQueue`), and
//! the ring is allocated on first use and doubled up to the channel's
//! capacity, so `Channel(100000000)` costs one small object until values
//! are actually buffered.

use crate::error::RuntimeError;
use crate::native::NativeResult;
use crate::object::{ChannelObj, Gc, ValueArrayObj, WaitQueueLoc};
use crate::sched::Park;
use crate::value::Value;
use crate::vm::Vm;

/// The ring's first size (or the capacity, if smaller).
const INITIAL_RING: usize = 8;

impl Vm {
    pub(crate) fn new_channel(&mut self, capacity: usize) -> NativeResult {
        let ch = self.alloc(ChannelObj::SIZE)?;
        Ok(ch.init_channel(capacity).value())
    }

    fn enqueue_current(&mut self, q: WaitQueueLoc) -> NativeResult<()> {
        let Some(cur) = self.current else {
            return Err("No running coroutine.".into());
        };
        q.push_back(cur);
        Ok(())
    }

    /// Room for one more buffered value, growing the ring if it is full
    /// but below the capacity. The channel (receiver slot) is rooted.
    fn ring_reserve(&mut self, ch: Gc<ChannelObj>) -> Result<Gc<ValueArrayObj>, RuntimeError> {
        if let Some(buf) = ch.buffer().filter(|b| ch.count() < b.len()) {
            return Ok(buf);
        }
        let old_len = ch.buffer().map_or(0, |b| b.len());
        let new_len = (old_len * 2).max(INITIAL_RING).min(ch.capacity());
        let fresh = self
            .alloc(ValueArrayObj::size_for(new_len))?
            .init_value_array(new_len);
        // The ring unrolled into the new array's front, oldest first.
        if let Some(old) = ch.buffer() {
            for i in 0..ch.count() {
                fresh.set(i, old.get((ch.head() + i) % old_len));
            }
        }
        ch.set_buffer(Some(fresh));
        ch.set_head(0);
        Ok(fresh)
    }

    /// `ch.send(v)`; `v` is rooted by the caller's argument slot.
    pub(crate) fn chan_send(&mut self, ch: Gc<ChannelObj>, v: Value) -> NativeResult<()> {
        if ch.closed() {
            return Err("Send on closed channel.".into());
        }
        if let Some(receiver) = ch.recvq().pop_front() {
            self.wake(receiver, v);
            return Ok(());
        }
        if ch.count() < ch.capacity() {
            let buf = self.ring_reserve(ch)?;
            buf.set((ch.head() + ch.count()) % buf.len(), v);
            ch.set_count(ch.count() + 1);
            return Ok(());
        }
        self.enqueue_current(ch.sendq())?;
        if let Some(cur) = self.current {
            cur.set_offer(v);
        }
        self.sched.park = Some(Park::Block);
        Ok(())
    }

    /// `ch.recv()`: the value now, or parks (the result arrives by wake).
    pub(crate) fn chan_recv(&mut self, ch: Gc<ChannelObj>) -> NativeResult {
        if ch.count() > 0 {
            let Some(buf) = ch.buffer() else {
                return Ok(Value::NIL);
            };
            let v = buf.get(ch.head());
            buf.set(ch.head(), Value::NIL);
            ch.set_head((ch.head() + 1) % buf.len());
            ch.set_count(ch.count() - 1);
            // A blocked sender's value takes the freed place (the ring is
            // only full when it has reached the capacity).
            if let Some(sender) = ch.sendq().pop_front() {
                buf.set((ch.head() + ch.count()) % buf.len(), sender.offer());
                ch.set_count(ch.count() + 1);
                sender.set_offer(Value::NIL);
                self.wake(sender, Value::NIL);
            }
            return Ok(v);
        }
        if let Some(sender) = ch.sendq().pop_front() {
            let v = sender.offer();
            sender.set_offer(Value::NIL);
            self.wake(sender, Value::NIL);
            return Ok(v);
        }
        if ch.closed() {
            return Ok(Value::NIL);
        }
        self.enqueue_current(ch.recvq())?;
        self.sched.park = Some(Park::Block);
        Ok(Value::NIL)
    }

    /// `ch.close()`: wakes every receiver with nil and fails every blocked
    /// sender.
    pub(crate) fn chan_close(&mut self, ch: Gc<ChannelObj>) -> NativeResult<()> {
        if ch.closed() {
            return Err("Close of closed channel.".into());
        }
        ch.set_closed(true);
        while let Some(r) = ch.recvq().pop_front() {
            self.wake(r, Value::NIL);
        }
        while let Some(s) = ch.sendq().pop_front() {
            s.set_offer(Value::NIL);
            s.set_fail_on_resume(true);
            self.wake(s, Value::NIL);
        }
        Ok(())
    }
}
