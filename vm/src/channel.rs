//! Channels (LANGUAGE.md §5): unbuffered (a rendezvous) or buffered (a
//! ring buffer), with FIFO queues of blocked receivers and senders.
//!
//! A blocking operation records what it waits for, sets `sched.park`, and
//! returns; the loop parks the coroutine once the native has returned.
//! Whoever completes the operation later writes the result into the
//! parked coroutine's result slot (`Vm::wake`). A blocked sender keeps its
//! value in `offer`.

use crate::object::{ChannelObj, CoroutineObj, Gc, ListObj, ValueArrayObj};
use crate::sched::Park;
use crate::value::Value;
use crate::vm::Vm;

impl Vm {
    pub(crate) fn new_channel(&mut self, capacity: usize) -> Result<Value, String> {
        let base = self.temp_roots.len();
        let r = (|| {
            let buffer = if capacity > 0 {
                let b = self
                    .alloc(ValueArrayObj::size_for(capacity))?
                    .init_value_array(capacity);
                self.temp_roots.push(b.value());
                Some(b)
            } else {
                None
            };
            let recvq = self.new_list_from(&[])?;
            self.temp_roots.push(recvq.value());
            let sendq = self.new_list_from(&[])?;
            self.temp_roots.push(sendq.value());
            let ch = self
                .alloc(ChannelObj::SIZE)?
                .init_channel(capacity, buffer, recvq, sendq);
            Ok(ch.value())
        })();
        self.temp_roots.truncate(base);
        r.map_err(|e: crate::error::RuntimeError| e.message)
    }

    fn dequeue(&mut self, q: Option<Gc<ListObj>>) -> Option<Gc<CoroutineObj>> {
        let q = q?;
        if q.count() == 0 {
            return None;
        }
        let v = self.list_remove(q, 0);
        v.as_obj().and_then(|o| o.downcast())
    }

    fn enqueue_current(&mut self, q: Option<Gc<ListObj>>) -> Result<(), String> {
        let (Some(q), Some(cur)) = (q, self.current) else {
            return Err("No running coroutine.".to_string());
        };
        self.list_push(q, cur.value()).map_err(|e| e.message)
    }

    /// `ch.send(v)`; `v` is rooted by the caller's argument slot.
    pub(crate) fn chan_send(&mut self, ch: Gc<ChannelObj>, v: Value) -> Result<(), String> {
        if ch.closed() {
            return Err("Send on closed channel.".to_string());
        }
        if let Some(receiver) = self.dequeue(ch.recvq()) {
            self.wake(receiver, v);
            return Ok(());
        }
        if ch.count() < ch.capacity() {
            if let Some(buf) = ch.buffer() {
                buf.set((ch.head() + ch.count()) % ch.capacity(), v);
                ch.set_count(ch.count() + 1);
            }
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
    pub(crate) fn chan_recv(&mut self, ch: Gc<ChannelObj>) -> Result<Value, String> {
        if ch.count() > 0 {
            let Some(buf) = ch.buffer() else {
                return Ok(Value::NIL);
            };
            let v = buf.get(ch.head());
            buf.set(ch.head(), Value::NIL);
            ch.set_head((ch.head() + 1) % ch.capacity());
            ch.set_count(ch.count() - 1);
            // A blocked sender's value takes the freed place.
            if let Some(sender) = self.dequeue(ch.sendq()) {
                buf.set((ch.head() + ch.count()) % ch.capacity(), sender.offer());
                ch.set_count(ch.count() + 1);
                sender.set_offer(Value::NIL);
                self.wake(sender, Value::NIL);
            }
            return Ok(v);
        }
        if let Some(sender) = self.dequeue(ch.sendq()) {
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
    pub(crate) fn chan_close(&mut self, ch: Gc<ChannelObj>) -> Result<(), String> {
        if ch.closed() {
            return Err("Close of closed channel.".to_string());
        }
        ch.set_closed(true);
        while let Some(r) = self.dequeue(ch.recvq()) {
            self.wake(r, Value::NIL);
        }
        while let Some(s) = self.dequeue(ch.sendq()) {
            s.set_offer(Value::NIL);
            s.set_fail_on_resume(true);
            self.wake(s, Value::NIL);
        }
        Ok(())
    }
}
