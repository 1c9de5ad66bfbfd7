//! What the cluster needs of a request, classic or meta.

use crate::command::{Awaits, Meaning};
use crate::connection::{Connection, Protocol, RequestId};
use crate::error::Error;
use crate::key::KeyPolicy;
use crate::limits::Limits;
use crate::meta::MetaRequest;
use crate::text::Request;
use crate::time::Millis;

/// Where a request goes.
pub(super) enum Keys<'a> {
    /// The server of this key.
    One(&'a [u8]),
    /// Each key to its server (a multi-key get, split by server).
    Many(&'a [&'a [u8]]),
    /// Every server (no key: stats, version, flush_all, …).
    All,
    /// No server (`mn`: answered at once).
    Local,
}

impl Keys<'_> {
    /// How many keys: one, the get's, or none.
    pub(super) fn count(&self) -> usize {
        match self {
            Keys::One(_) => 1,
            Keys::Many(keys) => keys.len(),
            Keys::All | Keys::Local => 0,
        }
    }
}

/// A request the cluster can route and encode.
pub(super) trait Wire<'a>: Copy {
    fn keys(&self) -> Keys<'a>;
    /// The command's name on the wire (`get`, `set`, `mg`, …).
    fn name(&self) -> &'static str;
    fn meaning(&self) -> Meaning;
    /// The key of a plain single-key `get`, which may be merged with
    /// others bound for the same server.
    fn mergeable_key(&self) -> Option<&'a [u8]>;
    fn awaits(&self, protocol: Protocol) -> Awaits;
    fn validate(&self, policy: &KeyPolicy, limits: &Limits) -> Result<(), Error>;
    /// Encodes the request, or with `keys` the part of a split get.
    fn encode(
        &self,
        conn: &mut Connection,
        keys: Option<&[&[u8]]>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error>;
}

impl<'a> Wire<'a> for Request<'a> {
    fn keys(&self) -> Keys<'a> {
        match *self {
            Request::Store { key, .. }
            | Request::Touch { key, .. }
            | Request::Delete { key, .. }
            | Request::Incr { key, .. }
            | Request::Decr { key, .. } => Keys::One(key),
            Request::Get { keys: [key], .. } => Keys::One(key),
            Request::Get { keys, .. } => Keys::Many(keys),
            _ => Keys::All,
        }
    }

    fn name(&self) -> &'static str {
        crate::connection::command_name(self)
    }

    fn meaning(&self) -> Meaning {
        Meaning::of(self)
    }

    fn mergeable_key(&self) -> Option<&'a [u8]> {
        match *self {
            Request::Get {
                command: crate::text::GetCommand::Get,
                keys: [key],
            } => Some(key),
            _ => None,
        }
    }

    fn awaits(&self, protocol: Protocol) -> Awaits {
        Awaits::of(self, protocol)
    }

    fn validate(&self, policy: &KeyPolicy, limits: &Limits) -> Result<(), Error> {
        Request::validate(self, policy, limits)
    }

    fn encode(
        &self,
        conn: &mut Connection,
        keys: Option<&[&[u8]]>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        match (self, keys) {
            (Request::Get { command, .. }, Some(keys)) => conn.submit_valid(
                &Request::Get {
                    command: *command,
                    keys,
                },
                deadline,
            ),
            _ => conn.submit_valid(self, deadline),
        }
    }
}

impl<'a> Wire<'a> for MetaRequest<'a> {
    fn keys(&self) -> Keys<'a> {
        match *self {
            MetaRequest::Get(g) => Keys::One(g.key),
            MetaRequest::Set(s) => Keys::One(s.key),
            MetaRequest::Delete(d) => Keys::One(d.key),
            MetaRequest::Arithmetic(a) => Keys::One(a.key),
            MetaRequest::Debug { key } => Keys::One(key),
            MetaRequest::Noop => Keys::Local,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            MetaRequest::Get(_) => "mg",
            MetaRequest::Set(_) => "ms",
            MetaRequest::Delete(_) => "md",
            MetaRequest::Arithmetic(_) => "ma",
            MetaRequest::Debug { .. } => "me",
            MetaRequest::Noop => "mn",
        }
    }

    fn meaning(&self) -> Meaning {
        Meaning::Meta
    }

    fn mergeable_key(&self) -> Option<&'a [u8]> {
        None
    }

    fn awaits(&self, _: Protocol) -> Awaits {
        Awaits::of_meta(self)
    }

    fn validate(&self, policy: &KeyPolicy, limits: &Limits) -> Result<(), Error> {
        MetaRequest::validate(self, policy, limits)
    }

    fn encode(
        &self,
        conn: &mut Connection,
        _: Option<&[&[u8]]>,
        deadline: Option<Millis>,
    ) -> Result<RequestId, Error> {
        conn.submit_meta_valid(self, deadline)
    }
}
