//! Reading meta replies: matching each to its request by opaque token,
//! settling quiet requests, mapping translated replies back.

use super::pending::{Awaits, Pending};
use super::{Connection, RequestId};
use crate::error::Error;
use crate::meta::{self, MetaReply, MetaStep, Shape};
use crate::text::Reply;

impl Connection {
    /// Reads meta replies for the requests at the front.
    pub(super) fn poll_meta(&mut self) -> Option<(RequestId, Result<Reply, Error>)> {
        loop {
            let front = self.pending.front()?;
            if !front.is_meta() {
                return self.poll();
            }
            let step = meta::parse(
                &mut self.rx,
                front.command,
                self.policy.prefix(),
                &self.limits,
            );
            self.need = 0;
            let (owner, result) = match step {
                MetaStep::Partial(need) => {
                    self.need = need;
                    if !self.eof {
                        return None;
                    }
                    self.fail(Error::UnexpectedClose);
                    return self.poll();
                }
                MetaStep::Fatal(e) => {
                    self.fail(e);
                    return self.poll();
                }
                MetaStep::ErrorLine(e) => {
                    // Error lines carry no opaque token: they belong to the
                    // front request. A quiet one is followed by its barrier,
                    // which cannot fail, so it is the quiet one's. After a
                    // classic noreply request the line may be that one's.
                    let exact = !front.after_noreply
                        && (!front.quiet || self.pending.get(1).is_none_or(Pending::is_noop));
                    if !exact {
                        self.fail(Error::NoreplyFailed(alloc::format!("{e}")));
                        return self.poll();
                    }
                    (self.pending.pop_front()?, Err(e))
                }
                MetaStep::Reply(opaque, reply) => match self.owner_of(opaque, &reply) {
                    Ok(p) => (p, Ok(reply)),
                    Err(e) => {
                        self.fail(e);
                        return self.poll();
                    }
                },
            };
            if let Some(done) = self.finish_meta(owner, result) {
                return Some(done);
            }
        }
    }

    /// Pops the pending request a meta reply answers: quiet requests before
    /// it succeeded silently. If the reply answers none, nothing is popped,
    /// so a quiet request whose fate is unknown gets the error too.
    fn owner_of(&mut self, opaque: Option<u64>, reply: &MetaReply) -> Result<Pending, Error> {
        let is_noop = reply.status() == meta::MetaStatus::Noop;
        let is_debug = reply.status() == meta::MetaStatus::Debug;
        let mut owner = None;
        for (i, p) in self.pending.iter().enumerate() {
            let owns = match opaque {
                Some(o) => p.id.0 == o && !matches!(p.awaits, Awaits::Barrier),
                None if is_noop => p.is_noop(),
                None if is_debug => p.command == "me",
                // A barrier is answered by MN only.
                None => !p.quiet && !matches!(p.awaits, Awaits::Barrier),
            };
            if owns && p.is_meta() {
                owner = Some(i);
                break;
            }
            if !p.quiet {
                break;
            }
        }
        if let Some(i) = owner {
            self.pending.drain(..i);
            return self.pending.pop_front().ok_or(Error::UnexpectedClose);
        }
        Err(Error::Protocol(alloc::format!(
            "meta reply {:?}{} does not answer the request awaited",
            reply.status(),
            opaque
                .map(|o| alloc::format!(" for opaque {o}"))
                .unwrap_or_default()
        )))
    }

    /// Turns a meta reply into what `poll` hands out for its request.
    fn finish_meta(
        &mut self,
        p: Pending,
        result: Result<MetaReply, Error>,
    ) -> Option<(RequestId, Result<Reply, Error>)> {
        match p.awaits {
            Awaits::Barrier | Awaits::Text(_) => None,
            Awaits::Meta => Some((p.id, result.map(|m| Reply::Meta(alloc::boxed::Box::new(m))))),
            Awaits::Translated(Shape::Get { last }) => {
                if let (Ok(reply), Some(expected)) = (&result, &p.key) {
                    if reply.key.as_deref().is_some_and(|k| k != &expected[..]) {
                        let e = Error::Protocol(alloc::format!(
                            "server returned key {} for a get of {}",
                            crate::error::escape(reply.key.as_deref().unwrap_or_default()),
                            crate::error::escape(expected)
                        ));
                        self.fail(e.clone());
                        // Not the group's last part: that one, still
                        // pending, reports the error, once.
                        if !last {
                            return self.poll();
                        }
                        return Some((p.id, Err(e)));
                    }
                }
                match result.and_then(meta::to_item) {
                    Ok(Some(item)) => self.group_items.push(item),
                    Ok(None) => {}
                    Err(e) => {
                        self.group_error.get_or_insert(e);
                    }
                }
                if !last {
                    return None;
                }
                let items = core::mem::take(&mut self.group_items);
                Some(match self.group_error.take() {
                    Some(e) => (p.id, Err(e)),
                    None => (p.id, Ok(Reply::Values(items))),
                })
            }
            // A translated noreply request reports its errors only: its
            // caller asked for no reply, as in the text protocol.
            Awaits::Translated(_) if p.quiet && result.is_ok() => None,
            Awaits::Translated(shape) => Some((p.id, result.and_then(|r| meta::to_text(shape, r)))),
        }
    }
}
