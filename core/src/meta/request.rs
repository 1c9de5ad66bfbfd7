//! Requests of the meta protocol, as values with typed flag builders.

/// The mode of a meta set (`M` flag).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SetMode {
    /// Store unconditionally (`MS`).
    #[default]
    Set,
    /// Store only if absent (`ME`).
    Add,
    /// Store only if present (`MR`).
    Replace,
    /// Append to the existing value (`MA`).
    Append,
    /// Prepend to the existing value (`MP`).
    Prepend,
}

impl SetMode {
    pub(crate) fn token(self) -> u8 {
        match self {
            SetMode::Set => b'S',
            SetMode::Add => b'E',
            SetMode::Replace => b'R',
            SetMode::Append => b'A',
            SetMode::Prepend => b'P',
        }
    }
}

/// The direction of a meta arithmetic (`M` flag).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ArithMode {
    /// Add the delta (`MI`).
    #[default]
    Incr,
    /// Subtract the delta, floored at 0 (`MD`).
    Decr,
}

/// `mg`: read an item and its metadata, optionally touching, vivifying or
/// winning the right to recache it.
///
/// # Example
///
/// ```
/// use memcrab_core::meta::MetaGet;
///
/// let req = MetaGet::new(b"user:1").value().cas().ttl().vivify(30).recache(10);
/// assert!(req.return_value && req.return_cas);
/// assert_eq!(req.vivify, Some(30));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct MetaGet<'a> {
    /// The key (any bytes: keys a text command could not carry are sent
    /// base64-encoded with the `b` flag).
    pub key: &'a [u8],
    /// `v`: return the value.
    pub return_value: bool,
    /// `c`: return the cas token.
    pub return_cas: bool,
    /// `f`: return the client flags.
    pub return_flags: bool,
    /// `h`: return whether the item was hit before.
    pub return_hit: bool,
    /// `k`: return the key.
    pub return_key: bool,
    /// `l`: return the seconds since the last access.
    pub return_last_access: bool,
    /// `s`: return the value's size.
    pub return_size: bool,
    /// `t`: return the remaining TTL (-1: none).
    pub return_ttl: bool,
    /// `u`: do not bump the item in the LRU.
    pub no_bump: bool,
    /// `q`: no reply on a miss.
    pub quiet: bool,
    /// `N<ttl>`: on a miss, create an empty item with this TTL and win.
    pub vivify: Option<i64>,
    /// `R<ttl>`: win the right to recache if the TTL is below this.
    pub recache: Option<i64>,
    /// `T<ttl>`: set the TTL (touch).
    pub touch: Option<i64>,
}

impl<'a> MetaGet<'a> {
    /// Starts an `mg` for `key` with no flags (a hit then answers `HD`).
    pub fn new(key: &'a [u8]) -> Self {
        MetaGet {
            key,
            ..MetaGet::default()
        }
    }
    /// Returns the value (`v`).
    pub fn value(mut self) -> Self {
        self.return_value = true;
        self
    }
    /// Returns the cas token (`c`).
    pub fn cas(mut self) -> Self {
        self.return_cas = true;
        self
    }
    /// Returns the client flags (`f`).
    pub fn flags(mut self) -> Self {
        self.return_flags = true;
        self
    }
    /// Returns whether the item was hit before (`h`).
    pub fn hit(mut self) -> Self {
        self.return_hit = true;
        self
    }
    /// Returns the key (`k`).
    pub fn key(mut self) -> Self {
        self.return_key = true;
        self
    }
    /// Returns the time since last access (`l`).
    pub fn last_access(mut self) -> Self {
        self.return_last_access = true;
        self
    }
    /// Returns the size (`s`).
    pub fn size(mut self) -> Self {
        self.return_size = true;
        self
    }
    /// Returns the remaining TTL (`t`).
    pub fn ttl(mut self) -> Self {
        self.return_ttl = true;
        self
    }
    /// Does not bump the item in the LRU (`u`).
    pub fn no_bump(mut self) -> Self {
        self.no_bump = true;
        self
    }
    /// Sends no reply on a miss (`q`).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }
    /// Creates an empty item with `ttl` on a miss and wins (`N`).
    pub fn vivify(mut self, ttl: i64) -> Self {
        self.vivify = Some(ttl);
        self
    }
    /// Wins the right to recache when the TTL left is below `ttl` (`R`).
    pub fn recache(mut self, ttl: i64) -> Self {
        self.recache = Some(ttl);
        self
    }
    /// Sets the TTL on a hit (`T`).
    pub fn touch(mut self, ttl: i64) -> Self {
        self.touch = Some(ttl);
        self
    }
}

/// `ms`: store a value, in any mode, with an optional cas compare.
///
/// # Example
///
/// ```
/// use memcrab_core::meta::{MetaSet, SetMode};
///
/// let req = MetaSet::new(b"k", b"v").mode(SetMode::Add).ttl(60).client_flags(7);
/// assert_eq!(req.mode, SetMode::Add);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct MetaSet<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// `M`: set, add, replace, append or prepend.
    pub mode: SetMode,
    /// `F`: client flags stored with the value.
    pub client_flags: u32,
    /// `T`: TTL (none: never expires).
    pub ttl: Option<i64>,
    /// `C`: store only if the cas token matches.
    pub compare_cas: Option<u64>,
    /// `I`: with `C`, an older cas marks the item stale instead of failing.
    pub invalidate: bool,
    /// `c`: return the new cas token.
    pub return_cas: bool,
    /// `k`: return the key.
    pub return_key: bool,
    /// `q`: no reply when stored.
    pub quiet: bool,
}

impl<'a> MetaSet<'a> {
    /// Starts an `ms` storing `value` under `key`.
    pub fn new(key: &'a [u8], value: &'a [u8]) -> Self {
        MetaSet {
            key,
            value,
            ..MetaSet::default()
        }
    }
    /// Sets the mode (`M`).
    pub fn mode(mut self, mode: SetMode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets the client flags (`F`).
    pub fn client_flags(mut self, flags: u32) -> Self {
        self.client_flags = flags;
        self
    }
    /// Sets the TTL (`T`).
    pub fn ttl(mut self, ttl: i64) -> Self {
        self.ttl = Some(ttl);
        self
    }
    /// Stores only if the cas token matches (`C`).
    pub fn compare_cas(mut self, cas: u64) -> Self {
        self.compare_cas = Some(cas);
        self
    }
    /// Marks stale instead of failing on an older cas (`I`).
    pub fn invalidate(mut self) -> Self {
        self.invalidate = true;
        self
    }
    /// Returns the new cas token (`c`).
    pub fn return_cas(mut self) -> Self {
        self.return_cas = true;
        self
    }
    /// Returns the key (`k`).
    pub fn return_key(mut self) -> Self {
        self.return_key = true;
        self
    }
    /// Sends no reply when stored (`q`).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }
}

/// `md`: delete an item, or mark it stale (`I`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct MetaDelete<'a> {
    /// The key.
    pub key: &'a [u8],
    /// `C`: delete only if the cas token matches.
    pub compare_cas: Option<u64>,
    /// `I`: mark stale (new cas, `X` on later gets) instead of removing.
    pub invalidate: bool,
    /// `T`: with `I`, the TTL of the stale item.
    pub ttl: Option<i64>,
    /// `k`: return the key.
    pub return_key: bool,
    /// `q`: no reply when deleted.
    pub quiet: bool,
}

impl<'a> MetaDelete<'a> {
    /// Starts an `md` for `key`.
    pub fn new(key: &'a [u8]) -> Self {
        MetaDelete {
            key,
            ..MetaDelete::default()
        }
    }
    /// Deletes only if the cas token matches (`C`).
    pub fn compare_cas(mut self, cas: u64) -> Self {
        self.compare_cas = Some(cas);
        self
    }
    /// Marks the item stale instead of removing it (`I`), with a TTL.
    pub fn invalidate(mut self, ttl: Option<i64>) -> Self {
        self.invalidate = true;
        self.ttl = ttl;
        self
    }
    /// Returns the key (`k`).
    pub fn return_key(mut self) -> Self {
        self.return_key = true;
        self
    }
    /// Sends no reply when deleted (`q`).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }
}

/// `ma`: add to or subtract from a 64-bit counter, optionally creating it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct MetaArithmetic<'a> {
    /// The key.
    pub key: &'a [u8],
    /// `M`: increment or decrement.
    pub mode: ArithMode,
    /// `D`: the delta (default 1).
    pub delta: u64,
    /// `N<ttl>`: create the counter on a miss, with this TTL.
    pub autovivify: Option<i64>,
    /// `J`: the initial value when created (default 0).
    pub initial: Option<u64>,
    /// `C`: apply only if the cas token matches.
    pub compare_cas: Option<u64>,
    /// `T`: set the TTL on success.
    pub ttl: Option<i64>,
    /// `v`: return the new value.
    pub return_value: bool,
    /// `t`: return the TTL.
    pub return_ttl: bool,
    /// `c`: return the cas token.
    pub return_cas: bool,
    /// `q`: no reply on success.
    pub quiet: bool,
}

impl<'a> MetaArithmetic<'a> {
    /// Starts an `ma` adding 1 to `key`, returning the new value.
    pub fn new(key: &'a [u8]) -> Self {
        MetaArithmetic {
            key,
            mode: ArithMode::Incr,
            delta: 1,
            autovivify: None,
            initial: None,
            compare_cas: None,
            ttl: None,
            return_value: true,
            return_ttl: false,
            return_cas: false,
            quiet: false,
        }
    }
    /// Sets the direction (`M`).
    pub fn mode(mut self, mode: ArithMode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets the delta (`D`).
    pub fn delta(mut self, delta: u64) -> Self {
        self.delta = delta;
        self
    }
    /// Creates the counter at `initial` with `ttl` on a miss (`N`, `J`).
    pub fn autovivify(mut self, ttl: i64, initial: u64) -> Self {
        self.autovivify = Some(ttl);
        self.initial = Some(initial);
        self
    }
    /// Applies only if the cas token matches (`C`).
    pub fn compare_cas(mut self, cas: u64) -> Self {
        self.compare_cas = Some(cas);
        self
    }
    /// Sets the TTL on success (`T`).
    pub fn ttl(mut self, ttl: i64) -> Self {
        self.ttl = Some(ttl);
        self
    }
    /// Returns the TTL (`t`).
    pub fn return_ttl(mut self) -> Self {
        self.return_ttl = true;
        self
    }
    /// Returns the cas token (`c`).
    pub fn return_cas(mut self) -> Self {
        self.return_cas = true;
        self
    }
    /// Sends no reply on success (`q`; the value is not returned then).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }
}

/// One command of memcached's meta protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaRequest<'a> {
    /// `mg`.
    Get(MetaGet<'a>),
    /// `ms`.
    Set(MetaSet<'a>),
    /// `md`.
    Delete(MetaDelete<'a>),
    /// `ma`.
    Arithmetic(MetaArithmetic<'a>),
    /// `mn`: a no-op whose `MN` reply marks that everything before it was
    /// processed (the barrier that ends a run of quiet requests).
    Noop,
    /// `me`: the item's internal metadata, human readable.
    Debug {
        /// The key.
        key: &'a [u8],
    },
}

impl MetaRequest<'_> {
    /// Checks the key (any bytes up to 250 once base64-encoded when needed)
    /// and the value size, as [`Connection::submit_meta`](crate::Connection::submit_meta)
    /// does before encoding.
    ///
    /// # Errors
    ///
    /// [`Error::IllegalInput`](crate::Error::IllegalInput).
    pub fn validate(
        &self,
        policy: &crate::KeyPolicy,
        limits: &crate::Limits,
    ) -> Result<(), crate::Error> {
        super::encode::check(self, policy, limits)
    }

    /// Returns true if the request is quiet (`q`): it answers only when it
    /// has something to say (a hit, a failure, an error).
    #[must_use]
    pub fn is_quiet(&self) -> bool {
        match self {
            MetaRequest::Get(g) => g.quiet,
            MetaRequest::Set(s) => s.quiet,
            MetaRequest::Delete(d) => d.quiet,
            MetaRequest::Arithmetic(a) => a.quiet,
            MetaRequest::Noop | MetaRequest::Debug { .. } => false,
        }
    }

    /// Returns the key, if the request has one.
    #[must_use]
    pub fn key(&self) -> Option<&[u8]> {
        match self {
            MetaRequest::Get(g) => Some(g.key),
            MetaRequest::Set(s) => Some(s.key),
            MetaRequest::Delete(d) => Some(d.key),
            MetaRequest::Arithmetic(a) => Some(a.key),
            MetaRequest::Debug { key } => Some(key),
            MetaRequest::Noop => None,
        }
    }

    pub(crate) fn command(&self) -> &'static str {
        match self {
            MetaRequest::Get(_) => "mg",
            MetaRequest::Set(_) => "ms",
            MetaRequest::Delete(_) => "md",
            MetaRequest::Arithmetic(_) => "ma",
            MetaRequest::Noop => "mn",
            MetaRequest::Debug { .. } => "me",
        }
    }
}

impl<'a> From<MetaGet<'a>> for MetaRequest<'a> {
    fn from(r: MetaGet<'a>) -> Self {
        MetaRequest::Get(r)
    }
}

impl<'a> From<MetaSet<'a>> for MetaRequest<'a> {
    fn from(r: MetaSet<'a>) -> Self {
        MetaRequest::Set(r)
    }
}

impl<'a> From<MetaDelete<'a>> for MetaRequest<'a> {
    fn from(r: MetaDelete<'a>) -> Self {
        MetaRequest::Delete(r)
    }
}

impl<'a> From<MetaArithmetic<'a>> for MetaRequest<'a> {
    fn from(r: MetaArithmetic<'a>) -> Self {
        MetaRequest::Arithmetic(r)
    }
}
