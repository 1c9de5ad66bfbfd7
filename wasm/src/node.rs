//! One server's connection and the requests awaiting it, for `Protocol`
//! (a byte stream the caller drives; `Session` drives the core's `Cluster`).
//!
//! The core's [`Connection`] reports a completion for every request that
//! gets a reply. A noreply request, or a quiet meta request that succeeded,
//! gets none; a `Node` completes those too, so every request can be awaited:
//! a silent request is done once everything submitted before it on the
//! connection is done (its bytes were written and the server went past
//! it), and fails with the connection's error if the connection breaks
//! first.

use std::collections::VecDeque;

use memcrab_core::command::{Awaits, Meaning, OwnedRequest};
use memcrab_core::{Connection, Error, Millis, Reply};
use wasm_bindgen::JsValue;

use crate::shape::Shape;

/// A request awaiting its completion.
#[derive(Debug)]
struct Outstanding {
    /// The core's request id.
    rid: u64,
    /// How many pending entries the connection had pushed once this request
    /// was submitted: it is past when that many have completed.
    end: u64,
    /// The front end's id for it.
    ticket: u64,
    meaning: Meaning,
    shape: Shape,
    awaits: Awaits,
}

/// One completed request.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) ticket: u64,
    meaning: Meaning,
    shape: Shape,
    /// Its reply (`None`: none was due, and it is past).
    result: Result<Option<Reply>, Error>,
}

impl Done {
    /// Returns the result as the JS value the command gives.
    pub(crate) fn value(self) -> Result<JsValue, Error> {
        self.shape.result(self.meaning, self.result?)
    }
}

/// A connection and its outstanding requests.
#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) conn: Connection,
    outstanding: VecDeque<Outstanding>,
    /// Pending entries the connection pushed so far.
    pushed: u64,
}

impl Node {
    /// Wraps a fresh connection.
    pub(crate) fn new(conn: Connection) -> Self {
        Node {
            conn,
            outstanding: VecDeque::new(),
            pushed: 0,
        }
    }

    /// Returns the number of requests not completed yet.
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Encodes `request` as the request `ticket`; `awaits` says whether a
    /// reply comes.
    ///
    /// # Errors
    ///
    /// The core's: a bad key or value (nothing is written), or the error
    /// that closed the connection.
    pub(crate) fn submit(
        &mut self,
        request: &OwnedRequest,
        (meaning, shape, awaits): (Meaning, Shape, Awaits),
        deadline: Option<Millis>,
        ticket: u64,
    ) -> Result<(), Error> {
        let before = self.conn.in_flight();
        let rid = request.submit_to(&mut self.conn, deadline)?;
        let after = self.conn.in_flight();
        self.pushed += after.saturating_sub(before) as u64;
        self.outstanding.push_back(Outstanding {
            rid: rid.0,
            end: self.pushed,
            ticket,
            meaning,
            shape,
            awaits,
        });
        Ok(())
    }

    /// Moves every completed request to `out`. `flushed` says the bytes of
    /// every submitted request have left (silent requests complete only
    /// then).
    pub(crate) fn drain(&mut self, out: &mut Vec<Done>, flushed: bool) {
        while let Some((rid, result)) = self.conn.poll() {
            while self.outstanding.front().is_some_and(|o| o.rid < rid.0) {
                if let Some(o) = self.outstanding.pop_front() {
                    out.push(silent_done(o));
                }
            }
            if self.outstanding.front().is_some_and(|o| o.rid == rid.0) {
                if let Some(o) = self.outstanding.pop_front() {
                    out.push(Done {
                        ticket: o.ticket,
                        meaning: o.meaning,
                        shape: o.shape,
                        result: result.map(Some),
                    });
                }
            }
        }
        if let Some(e) = self.conn.error() {
            for o in self.outstanding.drain(..) {
                out.push(Done {
                    ticket: o.ticket,
                    meaning: o.meaning,
                    shape: o.shape,
                    result: Err(e.clone()),
                });
            }
            return;
        }
        if !flushed {
            return;
        }
        let completed = self.pushed - self.conn.in_flight() as u64;
        while self
            .outstanding
            .front()
            .is_some_and(|o| o.awaits != Awaits::Always && o.end <= completed)
        {
            if let Some(o) = self.outstanding.pop_front() {
                out.push(silent_done(o));
            }
        }
    }
}

/// The completion of a request that got no reply and is past.
fn silent_done(o: Outstanding) -> Done {
    // A request with a reply due that was skipped cannot happen with
    // replies in order, but is never resolved as a success.
    let result = match o.awaits {
        Awaits::Always => Err(Error::UnexpectedReply(
            "no reply came for this request".into(),
        )),
        _ => Ok(None),
    };
    Done {
        ticket: o.ticket,
        meaning: o.meaning,
        shape: o.shape,
        result,
    }
}
