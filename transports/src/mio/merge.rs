//! Merging single-key gets bound for one server into one multi-key get.

use memcrab_core::{Item, Reply};
use smallvec::SmallVec;

use super::engine::JobId;
use crate::error::Error;

/// Single-key gets waiting to go out as one `get k1 k2 …`, or sent and
/// awaiting its reply.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The keys, end to end.
    keys: Vec<u8>,
    /// Each caller's job and the end of its key in `keys`.
    jobs: Vec<(JobId, usize)>,
}

impl Batch {
    pub(crate) fn len(&self) -> usize {
        self.jobs.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    pub(crate) fn push(&mut self, job: JobId, key: &[u8]) {
        self.keys.extend_from_slice(key);
        self.jobs.push((job, self.keys.len()));
    }

    /// The keys, in the order pushed.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.jobs.iter().map(move |&(_, end)| {
            let key = &self.keys[start..end];
            start = end;
            key
        })
    }

    /// Hands each caller its part of the merged reply: its item, or a miss.
    ///
    /// memcached answers a multi-key get with the hits in the order asked
    /// (a key asked twice comes twice), so one walk matches them up.
    pub(crate) fn split(
        self,
        result: Result<Reply, Error>,
        out: &mut impl FnMut(JobId, Result<Reply, Error>),
    ) {
        let items = match result {
            Ok(Reply::Values(items)) => items,
            Ok(other) => {
                let e = Error::Protocol(memcrab_core::Error::UnexpectedReply(format!(
                    "{other:?} to a get"
                )));
                return self.fail(&e, out);
            }
            Err(e) => return self.fail(&e, out),
        };
        let mut items = items.into_iter().peekable();
        let mut start = 0;
        for &(job, end) in &self.jobs {
            let key = &self.keys[start..end];
            start = end;
            let hit: Option<Item> = items.next_if(|item| item.key == key);
            let mut values = SmallVec::new();
            values.extend(hit);
            out(job, Ok(Reply::Values(values)));
        }
    }

    pub(crate) fn fail(self, e: &Error, out: &mut impl FnMut(JobId, Result<Reply, Error>)) {
        for (job, _) in self.jobs {
            out(job, Err(e.clone()));
        }
    }
}
