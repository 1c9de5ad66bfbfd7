//! Tickets: one submitted batch, its requests' parts on connections, and
//! their results as they come in.

use smallvec::SmallVec;

use crate::command::Meaning;
use crate::error::ErrorKind;
use crate::meta::{MetaReply, MetaStatus};
use crate::text::Reply;

use super::fault::Fault;
use super::ConnId;

/// Names one submitted batch; its results come back with
/// [`Cluster::take`](super::Cluster::take).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket {
    pub(super) index: u32,
    pub(super) generation: u32,
}

impl Ticket {
    /// Returns the ticket's slot index: small, reused once its results are
    /// taken, so a driver can keep per-ticket state in a `Vec` under it.
    #[must_use]
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// The result of one request: `None` when it awaited no reply and was
/// sent, else its reply or why it failed.
pub type Outcome<E> = Option<Result<Reply, Fault<E>>>;

/// The results of one ticket, one per request, in request order.
pub type Outcomes<E> = SmallVec<[Outcome<E>; 1]>;

/// One request of a ticket.
#[derive(Debug)]
pub(super) struct Slot<E> {
    pub(super) meaning: Meaning,
    /// Parts still to come (one per server a request was split over).
    pub(super) waiting: u16,
    /// The merged result so far (`None`: no part yet).
    pub(super) merged: Option<Outcome<E>>,
}

/// A ticket's state.
#[derive(Debug)]
pub(super) struct TicketState<E> {
    pub(super) generation: u32,
    pub(super) slots: SmallVec<[Slot<E>; 1]>,
    /// Slots with parts still to come.
    pub(super) waiting: usize,
    /// The connections it holds (leases when the depth is 1).
    pub(super) conns: SmallVec<[ConnId; 2]>,
    /// The caller gave up: drop the results when they come.
    pub(super) forgotten: bool,
    pub(super) live: bool,
    /// The first request's command name and the batch's key count (for
    /// a driver's tracing and metrics).
    pub(super) command: &'static str,
    pub(super) keys: usize,
}

impl<E> TicketState<E> {
    pub(super) fn new(generation: u32) -> Self {
        TicketState {
            generation,
            slots: SmallVec::new(),
            waiting: 0,
            conns: SmallVec::new(),
            forgotten: false,
            live: false,
            command: "",
            keys: 0,
        }
    }

    pub(super) fn is_done(&self) -> bool {
        self.waiting == 0
    }
}

impl<E: Clone> Slot<E> {
    pub(super) fn new(meaning: Meaning) -> Self {
        Slot {
            meaning,
            waiting: 0,
            merged: None,
        }
    }

    /// Adds one part's result; returns true when the slot is complete.
    pub(super) fn add(&mut self, part: Outcome<E>, ignore_exc: bool) -> bool {
        let part = match part {
            Some(Err(f)) if ignore_exc && self.ignores(&f) => Some(Ok(self.meaning.skipped())),
            p => p,
        };
        match &mut self.merged {
            // The first part (of one, mostly): stored where it stays.
            None => self.merged = Some(part),
            Some(prev) => *prev = merge(core::mem::take(prev), part),
        }
        self.waiting = self.waiting.saturating_sub(1);
        self.waiting == 0
    }

    /// Under `ignore_exc`, which faults become the command's default: any
    /// but bad input; for meta commands, connection errors only (the
    /// server's own answer to a meta command is kept).
    fn ignores(&self, f: &Fault<E>) -> bool {
        if f.kind() == ErrorKind::IllegalInput {
            return false;
        }
        self.meaning != Meaning::Meta || f.is_connection_error()
    }

    /// Completes the slot without I/O.
    pub(super) fn answer(&mut self, outcome: Outcome<E>) {
        self.merged = Some(outcome);
        self.waiting = 0;
    }

    pub(super) fn take(&mut self) -> Outcome<E> {
        self.merged.take().flatten()
    }
}

/// Combines two parts of one request (split over servers): the first error
/// wins; items are concatenated; otherwise the first part's reply stands.
fn merge<E>(a: Outcome<E>, b: Outcome<E>) -> Outcome<E> {
    match (a, b) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Some(Err(e)),
        (Some(Ok(Reply::Values(mut x))), Some(Ok(Reply::Values(y)))) => {
            x.extend(y);
            Some(Ok(Reply::Values(x)))
        }
        (first, _) => first,
    }
}

/// The reply of an `mn` that reached no server: everything before it was
/// answered.
pub(super) fn noop_reply() -> Reply {
    Reply::Meta(alloc::boxed::Box::new(MetaReply::new(MetaStatus::Noop)))
}
