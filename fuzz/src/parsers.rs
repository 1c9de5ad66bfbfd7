//! The reply parsers on their own (`memcrab_core::fuzzing`): a step that
//! waits for more consumes nothing, a step that completes consumes a
//! non-empty prefix of the buffer, and one read or split reads give the same
//! steps with the same byte counts.

use bytes::BytesMut;
use memcrab_core::fuzzing::{parse_meta, MetaParsed, Parsed, TextParser};
use memcrab_core::meta::MetaReply;
use memcrab_core::{Error, Reply, Request};

use crate::plan::{text_op, Plan};

/// What one parse step gave.
#[derive(Debug, PartialEq)]
enum Step<T> {
    /// Complete (a reply or a per-request error), with the bytes consumed.
    Done(usize, T),
    /// The stream is broken (what was consumed is unspecified).
    Fatal(Error),
}

/// The text parsers the plan's requests await, in order, as the connection
/// sets them up (noreply requests await nothing; nothing follows quit).
fn text_parsers(plan: &Plan) -> Vec<TextParser> {
    let (policy, limits) = (plan.policy(), plan.limits());
    let mut out = Vec::new();
    let mut after_noreply = false;
    for op in &plan.ops {
        let op = text_op(op[0], op[1], op[2]);
        let req = op.request();
        match TextParser::for_request(&req, &policy, limits, op.command(), after_noreply) {
            Ok(Some(p)) => {
                out.push(p);
                after_noreply = false;
            }
            Ok(None) if matches!(req, Request::Quit) => break,
            Ok(None) => after_noreply = true,
            Err(_) => {}
        }
    }
    out
}

/// Feeds `chunks` into a buffer one at a time, calling `step` after each
/// until it waits for more; stops at a fatal step. Checks what each step
/// consumed.
fn steps<T>(
    chunks: &[&[u8]],
    mut step: impl FnMut(&mut BytesMut) -> Option<Result<T, Error>>,
) -> Vec<Step<T>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            let before = buf.clone();
            match step(&mut buf) {
                None => {
                    assert_eq!(buf, before, "a partial step consumed bytes");
                    break;
                }
                Some(Err(e)) => {
                    out.push(Step::Fatal(e));
                    return out;
                }
                Some(Ok(done)) => {
                    let consumed = before.len() - buf.len();
                    assert!(consumed > 0, "a complete step consumed nothing");
                    assert_eq!(&before[consumed..], &buf[..], "not consumed from the front");
                    out.push(Step::Done(consumed, done));
                }
            }
        }
    }
    out
}

/// The text parsers, one read versus split reads.
pub fn check_text(plan: &Plan) {
    let run = |chunks: &[&[u8]]| {
        let mut parsers = text_parsers(plan).into_iter();
        let mut current = parsers.next();
        steps::<Result<Reply, Error>>(chunks, |buf| {
            let p = current.as_mut()?;
            match p.parse(buf) {
                Parsed::Partial => None,
                Parsed::Done(r) => {
                    current = parsers.next();
                    Some(Ok(r))
                }
                Parsed::Fatal(e) => Some(Err(e)),
            }
        })
    };
    let whole = run(&[&plan.reply]);
    let split = run(&plan.chunks());
    assert_eq!(whole, split, "text parser: one read and split reads differ");
}

/// The meta parser, one read versus split reads.
pub fn check_meta(plan: &Plan) {
    let prefix = plan.policy().prefix().clone();
    let limits = plan.limits();
    let run = |chunks: &[&[u8]]| {
        steps::<Result<(Option<u64>, MetaReply), Error>>(chunks, |buf| {
            match parse_meta(buf, "mg", &prefix, &limits) {
                MetaParsed::Partial => None,
                MetaParsed::Reply(o, r) => Some(Ok(Ok((o, r)))),
                MetaParsed::ErrorLine(e) => Some(Ok(Err(e))),
                MetaParsed::Fatal(e) => Some(Err(e)),
            }
        })
    };
    let whole = run(&[&plan.reply]);
    let split = run(&plan.chunks());
    assert_eq!(whole, split, "meta parser: one read and split reads differ");
}
