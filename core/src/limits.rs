//! Bounds on what a server (or a caller) can make the core buffer.

/// Size limits the core enforces on requests and replies.
///
/// A hostile or broken server can claim any value length; the parser refuses
/// a `VALUE` whose claimed length exceeds `max_item_size` as soon as it reads
/// the header line, before a single byte of the value is buffered. A reply
/// line without `\r\n` within `max_line` bytes is refused the same way.
///
/// # Example
///
/// ```
/// use memcrab_core::Limits;
///
/// let limits = Limits { max_item_size: 4096, ..Limits::default() };
/// assert_eq!(limits.max_line, Limits::default().max_line);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest value accepted in a reply or sent in a request, in bytes.
    ///
    /// Defaults to 1 MiB plus 512 bytes of slack, memcached's default item
    /// size limit (`-I 1m`) with room for its item header.
    pub max_item_size: usize,
    /// The longest reply line (without its `\r\n`) the parser will buffer.
    pub max_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_item_size: 1024 * 1024 + 512,
            max_line: 8 * 1024,
        }
    }
}
