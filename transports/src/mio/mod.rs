//! memcached inside your own [`mio`] event loop, and a pipelined
//! engine (cargo feature `mio`).
//!
//! Two layers:
//!
//! - [`Driver`]: for a program that already runs a `mio::Poll`. It registers
//!   its sockets with your [`Registry`](::mio::Registry) under the
//!   [`Token`](::mio::Token)s you choose, turns your readiness events into
//!   reads and writes, accepts requests at any time, and hands completed
//!   replies back from [`Driver::poll`]. It starts no thread and never
//!   blocks; it says when it next needs a wake-up
//!   ([`Driver::poll_timeout`]). Keys go to servers by the hash router of
//!   `memcrab-core` (the same rendezvous/ketama hashing as the
//!   [`HashClient`](crate::HashClient)). A connection whose unwritten bytes
//!   reach [`DriverOptions::max_buffered`] refuses requests with
//!   [`SubmitError::Full`] until the socket takes them.
//! - [`Engine`]: owns its `mio::Poll` and drives the core
//!   [`Cluster`](memcrab_core::cluster::Cluster), for throughput: submit
//!   many requests from one thread, keep up to a chosen depth in flight per
//!   connection, collect replies. Multi-key gets are split by server;
//!   optionally, concurrent single-key gets bound for one server are merged
//!   into one multi-key get. [`Engine::into_client`] puts it behind the
//!   command API.
//!
//! # The loop
//!
//! ```no_run
//! use std::time::Duration;
//! use memcrab_transport::mio::{Driver, DriverOptions};
//! use memcrab_core::{GetCommand, Request};
//! use mio::{Events, Poll, Token};
//!
//! let mut poll = Poll::new()?;
//! let mut events = Events::with_capacity(256);
//! let mut driver = Driver::new(poll.registry(), DriverOptions::default())?;
//! // Two connections to one server, under tokens of our choosing.
//! driver.add_server("127.0.0.1:11211", &[Token(100), Token(101)])?;
//!
//! let keys: &[&[u8]] = &[b"greeting"];
//! driver.submit(&Request::Get { command: GetCommand::Get, keys }).unwrap();
//! loop {
//!     driver.flush();
//!     poll.poll(&mut events, driver.poll_timeout())?;
//!     for event in events.iter() {
//!         if driver.handle_event(event) {
//!             continue;
//!         }
//!         // ... one of our own sources ...
//!     }
//!     driver.handle_timeout();
//!     while let Some(done) = driver.poll() {
//!         println!("{:?} {:?}", done.ticket, done.result);
//!         return Ok(());
//!     }
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

mod client;
mod driver;
mod engine;
mod io;
mod options;
mod socket;
mod ticket;

pub use client::EngineClient;
pub use driver::Driver;
pub use engine::{Done, Engine, EngineBuilder, JobId, TrySubmitError};
pub use options::DriverOptions;
pub use ticket::{Completion, SubmitError, Ticket};
