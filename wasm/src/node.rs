//! One server's connection and the requests awaiting it, for the front ends
//! (`Protocol`, `Session`).
//!
//! The core's [`Connection`] reports a completion for every request that
//! gets a reply. A noreply request, or a quiet meta request that succeeded,
//! gets none; a `Node` completes those too, so every request can be awaited:
//! a silent request is done once everything submitted before it on the
//! connection is done (its bytes were written and the server went past
//! it), and fails with the connection's error if the connection breaks
//! first.

use std::collections::VecDeque;

use memcrab_core::{Connection, Error, Millis, Reply};
use wasm_bindgen::JsValue;

use crate::command::Command;
use crate::shape::Shape;

/// What a silent success resolves to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Silent {
    /// The request always has a reply.
    No,
    /// A noreply request (or `quit`): `Shape::noreply_value`.
    Noreply,
    /// A quiet `mg`: a miss.
    QuietGet,
    /// Another quiet meta request: success.
    QuietOk,
}

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
    shape: Shape,
    silent: Silent,
}

/// How a request ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Its reply.
    Reply(Reply),
    /// No reply was due, and it is past: the value it resolves to.
    Silent(JsValue),
}

/// One completed request.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) ticket: u64,
    pub(crate) shape: Shape,
    pub(crate) result: Result<Outcome, Error>,
}

impl Done {
    /// Returns the result as the JS value its shape gives.
    pub(crate) fn value(self) -> Result<JsValue, Error> {
        match self.result? {
            Outcome::Reply(reply) => self.shape.value(reply),
            Outcome::Silent(value) => Ok(value),
        }
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

    /// Encodes `command` as the request `ticket`.
    ///
    /// # Errors
    ///
    /// The core's: a bad key or value (nothing is written), or the error
    /// that closed the connection.
    pub(crate) fn submit(
        &mut self,
        command: &Command,
        shape: Shape,
        deadline: Option<Millis>,
        ticket: u64,
    ) -> Result<(), Error> {
        let before = self.conn.in_flight();
        let rid = command.submit(&mut self.conn, deadline)?;
        let after = self.conn.in_flight();
        self.pushed += after.saturating_sub(before) as u64;
        let silent = match command {
            Command::Meta(meta) if meta.is_quiet() => {
                if matches!(meta, crate::meta::MetaCommand::Get(..)) {
                    Silent::QuietGet
                } else {
                    Silent::QuietOk
                }
            }
            other if other.is_noreply() || matches!(other, Command::Quit) => Silent::Noreply,
            // A translated noreply (meta protocol) is quiet on the wire.
            _ => Silent::No,
        };
        self.outstanding.push_back(Outstanding {
            rid: rid.0,
            end: self.pushed,
            ticket,
            shape,
            silent,
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
                        shape: o.shape,
                        result: result.map(Outcome::Reply),
                    });
                }
            }
        }
        if let Some(e) = self.conn.error() {
            for o in self.outstanding.drain(..) {
                out.push(Done {
                    ticket: o.ticket,
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
            .is_some_and(|o| o.silent != Silent::No && o.end <= completed)
        {
            if let Some(o) = self.outstanding.pop_front() {
                out.push(silent_done(o));
            }
        }
    }

    /// Fails every outstanding request with `e` (the socket failed or was
    /// closed by the caller).
    pub(crate) fn fail_all(&mut self, e: &Error, out: &mut Vec<Done>) {
        for o in self.outstanding.drain(..) {
            out.push(Done {
                ticket: o.ticket,
                shape: o.shape,
                result: Err(e.clone()),
            });
        }
    }
}

/// The completion of a request that got no reply and is past.
fn silent_done(o: Outstanding) -> Done {
    let value = match o.silent {
        Silent::No => {
            // A request with a reply due was skipped: cannot happen with
            // replies in order, but never resolve it as a success.
            return Done {
                ticket: o.ticket,
                shape: o.shape,
                result: Err(Error::UnexpectedReply(
                    "no reply came for this request".into(),
                )),
            };
        }
        Silent::Noreply => o.shape.noreply_value(),
        Silent::QuietGet => crate::meta::silent_reply(true),
        Silent::QuietOk => crate::meta::silent_reply(false),
    };
    Done {
        ticket: o.ticket,
        shape: o.shape,
        result: Ok(Outcome::Silent(value)),
    }
}
