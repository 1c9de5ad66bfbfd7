//! The options of the commands: per call, and per client.

use memcrab_core::serde::Serde;

use super::Expiry;

/// Per-call options of the storage commands (pymemcache's `expire`,
/// `noreply` and `flags` arguments).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use memcrab_transport::{Expiry, StoreOptions};
///
/// let opts = StoreOptions::new().expire(Duration::from_secs(60)).noreply(false).flags(7);
/// assert_eq!(opts.expire, Expiry::After(Duration::from_secs(60)));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StoreOptions {
    /// When the item expires ([`Expiry::Never`] by default).
    pub expire: Expiry,
    /// Wait for no reply; `None` uses the client's `default_noreply`.
    pub noreply: Option<bool>,
    /// Client flags overriding the serde's.
    pub flags: Option<u32>,
}

impl StoreOptions {
    /// Returns the defaults: no expiry, the client's noreply default, the
    /// serde's flags.
    #[must_use]
    pub fn new() -> Self {
        StoreOptions::default()
    }

    /// Sets when the item expires: a [`Duration`](std::time::Duration)
    /// from now (`Duration::ZERO`: never), a
    /// [`SystemTime`](std::time::SystemTime), or an [`Expiry`].
    #[must_use]
    pub fn expire(mut self, expire: impl Into<Expiry>) -> Self {
        self.expire = expire.into();
        self
    }

    /// Sets whether to wait for the server's reply.
    #[must_use]
    pub fn noreply(mut self, noreply: bool) -> Self {
        self.noreply = Some(noreply);
        self
    }

    /// Sets the client flags, overriding the serde's.
    #[must_use]
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = Some(flags);
        self
    }
}

/// What the command methods need to know of a client: how values become
/// bytes, and the defaults of pymemcache's per-call arguments. No
/// transport's type appears here, so any client — blocking, the mio
/// engine, the in-memory mock — can offer the commands.
#[derive(Clone, Copy)]
pub struct CommandOptions<'a> {
    /// How values become bytes and flags, and back.
    pub serde: &'a dyn Serde,
    /// The noreply default of the storage commands.
    pub default_noreply: bool,
    /// Turn errors of the get family into misses.
    pub ignore_exc: bool,
}

impl std::fmt::Debug for CommandOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandOptions")
            .field("default_noreply", &self.default_noreply)
            .field("ignore_exc", &self.ignore_exc)
            .finish_non_exhaustive()
    }
}
