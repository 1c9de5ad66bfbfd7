//! The options of the commands: per call, and per client.

use memcrab_core::serde::Serde;

/// Per-call options of the storage commands (pymemcache's `expire`,
/// `noreply` and `flags` arguments).
///
/// # Example
///
/// ```
/// use memcrab_transport::StoreOptions;
///
/// let opts = StoreOptions::new().expire(60).noreply(false).flags(7);
/// assert_eq!(opts.expire, 60);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Expiration in seconds (0 never; over 30 days a Unix time).
    pub expire: i64,
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

    /// Sets the expiration in seconds.
    #[must_use]
    pub fn expire(mut self, seconds: i64) -> Self {
        self.expire = seconds;
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
