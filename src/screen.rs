//! The terminal as the REPL's VM thread writes to it (`session.rs`).
//!
//! While the user edits a line, output (coroutines' and finalizers'
//! prints, their errors) must go through rustyline's external printer,
//! which prints it above the prompt and redraws the line. That printer
//! blocks while rustyline has not yet shown its previous message, and
//! only a running `readline` shows it: a coroutine that prints a lot fills
//! it, and when the user ends the line first, it stays full until the next
//! prompt, which comes only after the VM thread has served that line. So
//! the VM thread never calls it: a thread of its own (`loam-printer`)
//! feeds it from a queue ([`Feed`]). The VM thread waits only while that
//! queue is long (a chatty coroutine goes at the terminal's pace), and
//! never once the editor has raised the attention flag (the line has
//! ended): from then on, and while it serves a request, it writes straight
//! to the terminal, after what is still queued. Lines in flight at that
//! moment (at most the printer thread's and rustyline's own) show at the
//! next prompt: the order of background output and the input it races
//! with is only as exact as that race.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// rustyline's external printer, handed to the VM thread.
pub(crate) type Printer = Box<dyn rustyline::ExternalPrinter + Send>;

/// Bytes of output that may wait for the printer thread before a
/// printing coroutine waits too.
const FEED_LIMIT: usize = 64 * 1024;

/// How often a VM thread waiting for the printer looks at the attention
/// flag.
const ATTENTION_POLL: Duration = Duration::from_millis(10);

/// Which of the program's streams bytes belong to.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Out,
    Err,
}

fn write_direct(bytes: &[u8], stream: Stream) {
    let _ = match stream {
        Stream::Out => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        }
        Stream::Err => std::io::stderr().lock().write_all(bytes),
    };
}

/// Output queued for the printer thread, oldest first.
#[derive(Default)]
struct Queue {
    items: VecDeque<(Stream, Vec<u8>)>,
    bytes: usize,
}

/// The queue between the VM thread and the printer thread.
#[derive(Default)]
struct Feed {
    queue: Mutex<Queue>,
    /// Signalled when an item is queued or taken.
    changed: Condvar,
}

impl Feed {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `bytes`, first waiting while more than `FEED_LIMIT` bytes
    /// wait already. False, queuing nothing, once `attention` is raised:
    /// no line is being edited, the caller writes directly.
    fn push(&self, bytes: &[u8], stream: Stream, attention: &AtomicBool) -> bool {
        let mut q = self.lock();
        while q.bytes > FEED_LIMIT {
            if attention.load(Ordering::Acquire) {
                return false;
            }
            q = self
                .changed
                .wait_timeout(q, ATTENTION_POLL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if attention.load(Ordering::Acquire) {
            return false;
        }
        q.bytes += bytes.len();
        q.items.push_back((stream, bytes.to_vec()));
        self.changed.notify_all();
        true
    }

    /// The oldest item, waiting for one (the printer thread).
    fn pop(&self) -> (Stream, Vec<u8>) {
        let mut q = self.lock();
        loop {
            if let Some(item) = q.items.pop_front() {
                q.bytes -= item.1.len();
                self.changed.notify_all();
                return item;
            }
            q = self.changed.wait(q).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Everything queued, taken at once.
    fn take_all(&self) -> VecDeque<(Stream, Vec<u8>)> {
        let mut q = self.lock();
        q.bytes = 0;
        self.changed.notify_all();
        std::mem::take(&mut q.items)
    }
}

/// The printer thread: shows each queued item through rustyline.
fn feed_printer(feed: &Feed, mut printer: Printer) {
    loop {
        let (stream, bytes) = feed.pop();
        if printer
            .print(String::from_utf8_lossy(&bytes).into_owned())
            .is_err()
        {
            write_direct(&bytes, stream);
        }
    }
}

/// Where the VM thread's output goes during a session.
pub(crate) struct Screen {
    /// None off a terminal (no external printer): then nothing is edited
    /// while coroutines print, and everything goes straight out.
    feed: Option<Arc<Feed>>,
    /// The VM's attention flag: raised once the editor's line has ended.
    attention: Arc<AtomicBool>,
    /// A request is being served: the editor is not reading a line.
    serving: bool,
}

impl Screen {
    /// A screen over `printer` (if the terminal has one), whose thread it
    /// starts.
    pub(crate) fn new(printer: Option<Printer>, attention: Arc<AtomicBool>) -> Screen {
        let feed = printer.and_then(|printer| {
            let feed = Arc::new(Feed::default());
            let theirs = feed.clone();
            std::thread::Builder::new()
                .name("loam-printer".into())
                .spawn(move || feed_printer(&theirs, printer))
                .ok()
                .map(|_| feed)
        });
        Screen {
            feed,
            attention,
            serving: false,
        }
    }

    /// Whether a request is being served (no line is being edited).
    pub(crate) fn set_serving(&mut self, serving: bool) {
        self.serving = serving;
        if serving {
            self.drain();
        }
    }

    pub(crate) fn show(&mut self, bytes: &[u8], stream: Stream) {
        if let (Some(feed), false) = (&self.feed, self.serving) {
            if feed.push(bytes, stream, &self.attention) {
                return;
            }
        }
        self.drain();
        write_direct(bytes, stream);
    }

    /// Writes what still waits for the printer thread straight out, in
    /// order.
    pub(crate) fn drain(&mut self) {
        if let Some(feed) = &self.feed {
            for (stream, bytes) in feed.take_all() {
                write_direct(&bytes, stream);
            }
        }
    }
}

/// The VM's stdout in a session: whole lines go to the [`Screen`] as they
/// are printed (a coroutine's line appears at once, and never half a line
/// above the prompt); a partial line waits for its end or a flush.
pub(crate) struct ScreenOut {
    pub(crate) screen: Rc<RefCell<Screen>>,
    pub(crate) pending: Vec<u8>,
}

impl Write for ScreenOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            self.screen.borrow_mut().show(&lines, Stream::Out);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.screen.borrow_mut().show(&rest, Stream::Out);
        }
        Ok(())
    }
}
