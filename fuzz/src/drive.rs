//! Running a plan through a `Connection`, and the invariants every run
//! must keep.

use memcrab_core::command::Awaits;
use memcrab_core::{Connection, Error, ErrorKind, Protocol, Reply, Request, RequestId};

use crate::plan::{meta_op, text_op, MetaOp, Plan};

/// One result of `Connection::poll`.
pub type Polled = (RequestId, Result<Reply, Error>);

/// A request the connection accepted.
#[derive(Clone, Copy, Debug)]
pub struct Submitted {
    /// Its id.
    pub id: RequestId,
    /// It must come back from `poll` exactly once (once the stream ends).
    pub must_answer: bool,
    /// It may come back from `poll` (at most once).
    pub may_answer: bool,
}

impl Submitted {
    /// A request accepted as `id` that awaits what `awaits` says (the
    /// core's answer, not the fuzzer's).
    fn new(id: RequestId, awaits: Awaits) -> Submitted {
        Submitted {
            id,
            must_answer: awaits == Awaits::Always,
            may_answer: awaits.may_reply(),
        }
    }
}

/// A connection with the plan's requests submitted.
pub struct Setup {
    /// The connection.
    pub conn: Connection,
    /// The requests it accepted, in order.
    pub submitted: Vec<Submitted>,
}

fn refused(e: &Error) {
    assert!(
        matches!(
            e.kind(),
            ErrorKind::IllegalInput | ErrorKind::UnexpectedClose
        ),
        "submit refused a request with {e:?}"
    );
}

/// Submits the plan's ops as classic requests over the text protocol.
pub fn text_setup(plan: &Plan) -> Setup {
    let mut conn = Connection::with_config(plan.policy(), plan.limits());
    let mut submitted = Vec::new();
    for op in &plan.ops {
        let op = text_op(op[0], op[1], op[2]);
        let req = op.request();
        match conn.submit(&req, None) {
            Ok(id) => submitted.push(Submitted::new(id, Awaits::of(&req, Protocol::Text))),
            Err(e) => refused(&e),
        }
    }
    Setup { conn, submitted }
}

/// Submits the plan's ops as meta requests and classic ones (over meta
/// commands when the plan says so).
pub fn meta_setup(plan: &Plan) -> Setup {
    let mut conn = Connection::with_config(plan.policy(), plan.limits());
    let protocol = match plan.meta_protocol() {
        true => Protocol::Meta,
        false => Protocol::Text,
    };
    conn.set_protocol(protocol);
    let mut submitted = Vec::new();
    for op in &plan.ops {
        let (result, awaits) = match meta_op(op[0], op[1], op[2]) {
            MetaOp::Meta(req) => (conn.submit_meta(&req, None), Awaits::of_meta(&req)),
            MetaOp::Classic(op) => {
                let req = op.request();
                (conn.submit(&req, None), Awaits::of(&req, protocol))
            }
        };
        match result {
            Ok(id) => submitted.push(Submitted::new(id, awaits)),
            Err(e) => refused(&e),
        }
    }
    Setup { conn, submitted }
}

/// What a run gave.
#[derive(Debug, Default, PartialEq)]
pub struct Run {
    /// Every `poll` result, in order.
    pub polled: Vec<Polled>,
    /// The kind of the error that closed the connection. Only its kind: when
    /// bytes arrive with nothing in flight, the connection closes at once
    /// and its error quotes what had arrived, which depends on the reads (no
    /// request ever receives that error).
    pub error: Option<ErrorKind>,
}

/// Feeds `chunks` (one `receive` each, polling after each) and then EOF,
/// checking as it goes that `poll` never livelocks and that once the
/// connection is closed every result is its error; at the end, that nothing
/// is left in flight.
pub fn run(mut conn: Connection, chunks: &[&[u8]]) -> Run {
    let mut run = Run::default();
    for chunk in chunks {
        conn.receive(chunk);
        drain(&mut conn, &mut run);
    }
    conn.receive_eof();
    drain(&mut conn, &mut run);
    assert_eq!(conn.in_flight(), 0, "requests left in flight after EOF");
    assert!(conn.poll().is_none(), "poll after the end");
    assert!(conn.is_closed(), "not closed after EOF");
    assert!(conn.submit(&Request::Version, None).is_err());
    run.error = conn.error().map(Error::kind);
    run
}

fn drain(conn: &mut Connection, run: &mut Run) {
    let bound = conn.in_flight() + 1;
    for _ in 0..bound {
        let closed = conn.error().cloned();
        let Some(polled) = conn.poll() else {
            return;
        };
        if let Some(e) = closed {
            assert_eq!(polled.1.as_ref(), Err(&e), "a result after the close");
        }
        run.polled.push(polled);
    }
    panic!("poll() returned more results than requests in flight");
}

/// Checks the results against the accepted requests: ids increase (each
/// request answered at most once, in order), only requests that may answer
/// do, and every request that must answer did.
pub fn check_answers(submitted: &[Submitted], run: &Run) {
    for w in run.polled.windows(2) {
        assert!(
            w[0].0 < w[1].0,
            "ids out of order or repeated: {:?}",
            run.polled
        );
    }
    for (id, _) in &run.polled {
        let s = submitted.iter().find(|s| s.id == *id);
        assert!(
            s.is_some_and(|s| s.may_answer),
            "{id:?} answered but awaits no reply"
        );
    }
    for s in submitted.iter().filter(|s| s.must_answer) {
        assert!(
            run.polled.iter().any(|(id, _)| *id == s.id),
            "{:?} never answered",
            s.id
        );
    }
}

/// Runs the plan's reply in one read and in the plan's reads; both must give
/// the same results, and keep [`check_answers`].
pub fn check_plan(plan: &Plan, setup: impl Fn(&Plan) -> Setup) {
    let whole = setup(plan);
    let submitted = whole.submitted.clone();
    let whole = run(whole.conn, &[&plan.reply]);
    let split = run(setup(plan).conn, &plan.chunks());
    assert_eq!(whole, split, "one read and split reads differ");
    check_answers(&submitted, &whole);
}
