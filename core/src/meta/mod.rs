//! memcached's meta protocol: `mg`, `ms`, `md`, `ma`, `mn`, `me`.
//!
//! Meta commands carry flags that the classic commands cannot: opaque
//! tokens (memcrab puts each request's id there, so every reply is matched
//! by token, not only by order), quiet mode (no reply on success), base64
//! binary keys, and the vivify/recache/win flags that let exactly one client
//! recompute an expired hot key while the others serve the stale value.
//! Submit them with [`Connection::submit_meta`](crate::Connection::submit_meta);
//! their replies come back as [`Reply::Meta`](crate::Reply::Meta).

mod encode;
mod parse;
mod recache;
mod reply;
mod request;
mod translate;

pub(crate) use encode::{check, encode};
pub(crate) use parse::{parse, MetaStep};
pub use recache::RecacheStep;
pub use reply::{MetaReply, MetaStatus};
pub use request::{ArithMode, MetaArithmetic, MetaDelete, MetaGet, MetaRequest, MetaSet, SetMode};
pub(crate) use translate::{to_item, to_text, translate, Shape};
