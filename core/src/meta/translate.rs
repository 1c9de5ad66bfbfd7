//! Running the classic commands over meta commands (`Protocol::Meta`).
//!
//! Each keyed text request becomes one meta request per key; its meta reply
//! maps back to the reply the text command would have given, so the whole
//! pymemcache-style API keeps its results. noreply becomes quiet mode (with
//! a barrier), so the server's refusals are reported, never lost.

use smallvec::SmallVec;

use super::reply::{MetaReply, MetaStatus};
use super::request::{
    ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaRequest, MetaSet, SetMode,
};
use crate::error::{line_text, Error};
use crate::text::{GetCommand, Item, Reply, Request, StoreCommand};

/// How a meta reply maps back to the text reply of the request it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A storage command; `cas` ones answer EXISTS/NOT_FOUND too.
    Store { cas: bool },
    /// One key of a retrieval; `last` ends the group.
    Get { last: bool },
    /// touch.
    Touch,
    /// delete.
    Delete,
    /// incr/decr.
    Arith,
}

/// The meta requests that carry `req`, or `None` if it has no meta form
/// (stats, version, flush_all, … stay classic commands).
pub(crate) fn translate<'a>(req: &Request<'a>) -> Option<SmallVec<[(MetaRequest<'a>, Shape); 1]>> {
    let mut out = SmallVec::new();
    match *req {
        Request::Store {
            command,
            key,
            value,
            flags,
            exptime,
            noreply,
        } => {
            let (mode, cas) = match command {
                StoreCommand::Set => (SetMode::Set, None),
                StoreCommand::Add => (SetMode::Add, None),
                StoreCommand::Replace => (SetMode::Replace, None),
                StoreCommand::Append => (SetMode::Append, None),
                StoreCommand::Prepend => (SetMode::Prepend, None),
                StoreCommand::Cas(c) => (SetMode::Set, Some(c)),
            };
            let mut s = MetaSet::new(key, value).mode(mode).client_flags(flags);
            if exptime != 0 {
                s = s.ttl(exptime);
            }
            s.compare_cas = cas;
            s.quiet = noreply;
            out.push((MetaRequest::Set(s), Shape::Store { cas: cas.is_some() }));
        }
        Request::Get { command, keys } => {
            for (i, key) in keys.iter().enumerate() {
                let mut g = MetaGet::new(key).value().flags().key();
                if command.returns_cas() {
                    g = g.cas();
                }
                if let GetCommand::Gat(t) | GetCommand::Gats(t) = command {
                    g = g.touch(t);
                }
                out.push((
                    MetaRequest::Get(g),
                    Shape::Get {
                        last: i + 1 == keys.len(),
                    },
                ));
            }
        }
        Request::Touch {
            key,
            exptime,
            noreply,
        } => {
            let mut g = MetaGet::new(key).touch(exptime);
            g.quiet = noreply;
            out.push((MetaRequest::Get(g), Shape::Touch));
        }
        Request::Delete { key, noreply } => {
            let mut d = MetaDelete::new(key);
            d.quiet = noreply;
            out.push((MetaRequest::Delete(d), Shape::Delete));
        }
        Request::Incr {
            key,
            delta,
            noreply,
        }
        | Request::Decr {
            key,
            delta,
            noreply,
        } => {
            let mode = if matches!(req, Request::Incr { .. }) {
                ArithMode::Incr
            } else {
                ArithMode::Decr
            };
            let mut a = MetaArithmetic::new(key).mode(mode).delta(delta);
            a.quiet = noreply;
            out.push((MetaRequest::Arithmetic(a), Shape::Arith));
        }
        _ => return None,
    }
    Some(out)
}

/// Maps a meta reply to the text reply of a non-get shape.
pub(crate) fn to_text(shape: Shape, reply: MetaReply) -> Result<Reply, Error> {
    let unexpected = |r: &MetaReply| {
        Error::UnexpectedReply(alloc::format!("{:?} to a translated command", r.status()))
    };
    Ok(match (shape, reply.status()) {
        (Shape::Store { .. }, MetaStatus::Ok) => Reply::Stored,
        (Shape::Store { cas: false }, MetaStatus::NotStored) => Reply::NotStored,
        (Shape::Store { cas: true }, MetaStatus::NotStored | MetaStatus::Exists) => Reply::Exists,
        (Shape::Store { cas: true }, MetaStatus::NotFound) => Reply::NotFound,
        (Shape::Touch, MetaStatus::Ok) => Reply::Touched,
        (Shape::Delete, MetaStatus::Ok) => Reply::Deleted,
        (Shape::Touch | Shape::Delete | Shape::Arith, MetaStatus::NotFound | MetaStatus::Miss) => {
            Reply::NotFound
        }
        (Shape::Arith, MetaStatus::Value) => {
            let v = reply.value.unwrap_or_default();
            match crate::text::parse_u64(&v) {
                Some(n) => Reply::Number(n),
                None => {
                    return Err(Error::Protocol(alloc::format!(
                        "ma returned a non-number {}",
                        line_text(&v)
                    )))
                }
            }
        }
        _ => return Err(unexpected(&reply)),
    })
}

/// Maps one `mg` reply of a translated get to its item, if a hit.
pub(crate) fn to_item(reply: MetaReply) -> Result<Option<Item>, Error> {
    match reply.status() {
        MetaStatus::Value => Ok(Some(Item {
            key: reply.key.unwrap_or_default(),
            flags: reply.client_flags.unwrap_or(0),
            value: reply.value.unwrap_or_default(),
            cas: reply.cas,
        })),
        MetaStatus::Miss | MetaStatus::NotFound => Ok(None),
        s => Err(Error::UnexpectedReply(alloc::format!(
            "{s:?} to a translated get"
        ))),
    }
}
