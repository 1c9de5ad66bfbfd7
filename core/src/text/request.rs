//! Requests of the classic text protocol, as values.

/// The six storage commands. `Cas` carries the token from `gets`.
///
/// # Example
///
/// ```
/// use memcrab_core::StoreCommand;
///
/// assert_eq!(StoreCommand::Append.name(), "append");
/// assert_eq!(StoreCommand::Cas(42).name(), "cas");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreCommand {
    /// Store the value unconditionally.
    Set,
    /// Store only if the key does not exist.
    Add,
    /// Store only if the key exists.
    Replace,
    /// Add the value after the existing one.
    Append,
    /// Add the value before the existing one.
    Prepend,
    /// Store only if nobody changed the item since the `gets` that returned
    /// this token.
    Cas(u64),
}

impl StoreCommand {
    /// Returns the command's name on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StoreCommand::Set => "set",
            StoreCommand::Add => "add",
            StoreCommand::Replace => "replace",
            StoreCommand::Append => "append",
            StoreCommand::Prepend => "prepend",
            StoreCommand::Cas(_) => "cas",
        }
    }
}

/// The four retrieval commands. `Gat` and `Gats` carry the new expiration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetCommand {
    /// `get`: values.
    Get,
    /// `gets`: values with their cas tokens.
    Gets,
    /// `gat <exptime>`: values, and touch them.
    Gat(i64),
    /// `gats <exptime>`: values with cas tokens, and touch them.
    Gats(i64),
}

impl GetCommand {
    /// Returns the command's name on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            GetCommand::Get => "get",
            GetCommand::Gets => "gets",
            GetCommand::Gat(_) => "gat",
            GetCommand::Gats(_) => "gats",
        }
    }

    /// Returns true if the reply carries cas tokens.
    #[must_use]
    pub fn returns_cas(self) -> bool {
        matches!(self, GetCommand::Gets | GetCommand::Gats(_))
    }
}

/// One command of memcached's classic text protocol.
///
/// Keys are the caller's keys: the [`Connection`](crate::Connection) checks
/// them and adds its key prefix when it encodes the request, and refuses the
/// whole request before writing anything if one key or the value is bad.
///
/// # Example
///
/// ```
/// use memcrab_core::{Connection, Request, StoreCommand};
///
/// let mut conn = Connection::new();
/// let req = Request::Store {
///     command: StoreCommand::Set,
///     key: b"greeting",
///     value: b"hi",
///     flags: 0,
///     exptime: 0,
///     noreply: false,
/// };
/// conn.submit(&req, None).unwrap();
/// assert_eq!(conn.transmit(), b"set greeting 0 0 2\r\nhi\r\n");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `set`, `add`, `replace`, `append`, `prepend` or `cas`.
    Store {
        /// Which storage command.
        command: StoreCommand,
        /// The key.
        key: &'a [u8],
        /// The value's bytes.
        value: &'a [u8],
        /// Opaque client flags stored with the value.
        flags: u32,
        /// Expiration: 0 never, up to 30 days relative seconds, else a Unix
        /// time; negative expires at once.
        exptime: i64,
        /// Ask the server not to reply.
        noreply: bool,
    },
    /// `get`, `gets`, `gat` or `gats` for one or more keys, in one line.
    Get {
        /// Which retrieval command.
        command: GetCommand,
        /// The keys (at least one).
        keys: &'a [&'a [u8]],
    },
    /// `touch <key> <exptime>`.
    Touch {
        /// The key.
        key: &'a [u8],
        /// The new expiration.
        exptime: i64,
        /// Ask the server not to reply.
        noreply: bool,
    },
    /// `delete <key>`.
    Delete {
        /// The key.
        key: &'a [u8],
        /// Ask the server not to reply.
        noreply: bool,
    },
    /// `incr <key> <delta>` (64-bit, wrapping on the server).
    Incr {
        /// The key.
        key: &'a [u8],
        /// The amount to add.
        delta: u64,
        /// Ask the server not to reply.
        noreply: bool,
    },
    /// `decr <key> <delta>` (floors at 0 on the server).
    Decr {
        /// The key.
        key: &'a [u8],
        /// The amount to subtract.
        delta: u64,
        /// Ask the server not to reply.
        noreply: bool,
    },
    /// `stats` with optional arguments (`items`, `slabs`, `settings`, …).
    Stats {
        /// The section and its arguments; checked like keys, unprefixed.
        args: &'a [&'a [u8]],
    },
    /// `version`.
    Version,
    /// `flush_all <delay>`.
    FlushAll {
        /// Seconds until the flush takes effect.
        delay: i64,
        /// Ask the server not to reply.
        noreply: bool,
    },
    /// `verbosity <level>`.
    Verbosity {
        /// The logging level.
        level: u32,
        /// Ask the server not to reply.
        noreply: bool,
    },
    /// `cache_memlimit <megabytes>`.
    CacheMemlimit {
        /// The new memory limit in megabytes.
        megabytes: u64,
        /// Ask the server not to reply.
        noreply: bool,
    },
    /// `quit`: the server closes the connection; no reply.
    Quit,
    /// `shutdown` or `shutdown graceful` (the server must run with `-A`).
    Shutdown {
        /// Send `shutdown graceful`.
        graceful: bool,
    },
    /// One raw line (without `\r\n`), whose reply is read up to `terminator`.
    Raw {
        /// The command line, without its `\r\n`.
        line: &'a [u8],
        /// The bytes that end the reply (`b"\r\n"` for one line).
        terminator: &'a [u8],
    },
}

impl Request<'_> {
    /// Checks every key, argument and the value of this request against
    /// `policy` and `limits`, as [`Connection::submit`](crate::Connection::submit)
    /// does before encoding. Lets a transport refuse a whole batch before
    /// writing any of it.
    ///
    /// # Errors
    ///
    /// [`Error::IllegalInput`](crate::Error::IllegalInput) naming the bad key or argument.
    ///
    /// # Example
    ///
    /// ```
    /// use memcrab_core::{KeyPolicy, Limits, Request};
    ///
    /// let req = Request::Delete { key: b"no spaces allowed", noreply: false };
    /// assert!(req.validate(&KeyPolicy::new(), &Limits::default()).is_err());
    /// ```
    pub fn validate(
        &self,
        policy: &crate::KeyPolicy,
        limits: &crate::Limits,
    ) -> Result<(), crate::Error> {
        super::encode::check(self, policy, limits)
    }

    /// Returns true if this request awaits no reply.
    #[must_use]
    pub fn is_noreply(&self) -> bool {
        match *self {
            Request::Store { noreply, .. }
            | Request::Touch { noreply, .. }
            | Request::Delete { noreply, .. }
            | Request::Incr { noreply, .. }
            | Request::Decr { noreply, .. }
            | Request::FlushAll { noreply, .. }
            | Request::Verbosity { noreply, .. }
            | Request::CacheMemlimit { noreply, .. } => noreply,
            Request::Quit => true,
            _ => false,
        }
    }
}
