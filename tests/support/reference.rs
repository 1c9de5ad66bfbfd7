//! Reference values from pymemcache-spec.md, shared by the tests.

/// pymemcache 4.0.0's choices for `HashClient(['127.0.0.1:11211',
/// '127.0.0.1:11212', '127.0.0.1:11213'])` (pymemcache-spec.md §16.2): each
/// key and the port of the server it goes to.
pub const PYMEMCACHE_ROUTES: &[(&str, u16)] = &[
    ("key0", 11213),
    ("key1", 11212),
    ("key2", 11213),
    ("key3", 11213),
    ("key4", 11213),
    ("key5", 11211),
    ("key6", 11213),
    ("key7", 11212),
    ("key8", 11212),
    ("key9", 11213),
    ("key10", 11212),
    ("key11", 11212),
    ("key12", 11212),
    ("key13", 11213),
    ("key14", 11211),
    ("key15", 11212),
    ("key16", 11213),
    ("key17", 11211),
    ("key18", 11211),
    ("key19", 11213),
    ("foo", 11213),
    ("bar", 11211),
    ("baz", 11212),
    ("user:1", 11213),
];
