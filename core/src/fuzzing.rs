//! Internals for the fuzz targets in `fuzz/`, compiled only with
//! `--cfg fuzzing` (as `cargo fuzz` builds). Not part of the API.
//!
//! The targets drive the public [`Connection`](crate::Connection) too; this
//! module adds direct access to the two reply parsers, so a target can check
//! what the connection hides: how many bytes each step consumed.

use bytes::{Bytes, BytesMut};

use crate::key::KeyPolicy;
use crate::limits::Limits;
use crate::meta::{self, MetaReply, MetaStep};
use crate::text::{self, Context, Expect, Parser, Reply, Request, Step};
use crate::Error;

/// The outcome of one text parse attempt (the crate's `Step`).
#[derive(Debug)]
pub enum Parsed {
    /// Not complete; nothing was consumed.
    Partial,
    /// The reply, or the server's error line for the request; consumed.
    Done(Result<Reply, Error>),
    /// The stream is broken.
    Fatal(Error),
}

/// The text reply parser, set up for the reply one request awaits.
#[derive(Debug)]
pub struct TextParser {
    parser: Parser,
    expect: Expect,
    command: &'static str,
    prefix: Bytes,
    limits: Limits,
    after_noreply: bool,
}

impl TextParser {
    /// Encodes `request` (into a scratch buffer) to learn the reply it
    /// awaits, and returns a parser for that reply; `None` if it awaits
    /// none (noreply, quit). `after_noreply` says a noreply request was
    /// sent just before it.
    ///
    /// # Errors
    ///
    /// The encoder's [`Error::IllegalInput`].
    pub fn for_request(
        request: &Request<'_>,
        policy: &KeyPolicy,
        limits: Limits,
        command: &'static str,
        after_noreply: bool,
    ) -> Result<Option<Self>, Error> {
        let mut scratch = BytesMut::new();
        let expect = text::encode(request, policy, &limits, &mut scratch)?;
        Ok(expect.map(|expect| TextParser {
            parser: Parser::default(),
            expect,
            command,
            prefix: policy.prefix().clone(),
            limits,
            after_noreply,
        }))
    }

    /// Tries to take the reply off the front of `buf`.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Parsed {
        let cx = Context {
            expect: &self.expect,
            command: self.command,
            prefix: &self.prefix,
            after_noreply: self.after_noreply,
            limits: &self.limits,
        };
        match self.parser.parse(buf, &cx) {
            Step::Partial => Parsed::Partial,
            Step::Done(r) => Parsed::Done(r),
            Step::Fatal(e) => Parsed::Fatal(e),
        }
    }
}

/// The outcome of one meta parse attempt (the crate's `MetaStep`).
#[derive(Debug)]
pub enum MetaParsed {
    /// Not complete; nothing was consumed.
    Partial,
    /// A reply, consumed, with its opaque token if it carried one.
    Reply(Option<u64>, MetaReply),
    /// An error line, consumed.
    ErrorLine(Error),
    /// The stream is broken.
    Fatal(Error),
}

/// Tries to take one meta reply off the front of `buf`.
pub fn parse_meta(
    buf: &mut BytesMut,
    command: &'static str,
    prefix: &[u8],
    limits: &Limits,
) -> MetaParsed {
    match meta::parse(buf, command, prefix, limits) {
        MetaStep::Partial(_) => MetaParsed::Partial,
        MetaStep::Reply(o, r) => MetaParsed::Reply(o, r),
        MetaStep::ErrorLine(e) => MetaParsed::ErrorLine(e),
        MetaStep::Fatal(e) => MetaParsed::Fatal(e),
    }
}
