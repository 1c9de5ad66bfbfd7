//! A hand-written mio loop that serves its own work (a tiny echo service
//! and a client talking to it) and memcached requests side by side.
//!
//! ```text
//! cargo run --example mio_loop --features mio -- 127.0.0.1:11211
//! ```

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::time::Duration;

use memcrab::core::{GetCommand, Reply, Request, StoreCommand};
use memcrab::mio::{Driver, DriverOptions, Ticket};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

// Our own tokens...
const LISTENER: Token = Token(0);
const ECHO_SERVER: Token = Token(1);
const ECHO_CLIENT: Token = Token(2);
// ... and the ones we give the driver: two connections to the server.
const MEMCACHED: [Token; 2] = [Token(10), Token(11)];

const KEYS: usize = 100;
const PINGS: usize = 5;

fn main() -> io::Result<()> {
    let server = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:11211".into());
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(128);

    // Our own work: an echo service, and a client of it.
    let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut client = TcpStream::connect(listener.local_addr()?)?;
    poll.registry().register(
        &mut client,
        ECHO_CLIENT,
        Interest::READABLE | Interest::WRITABLE,
    )?;
    let mut echo: Option<TcpStream> = None;
    let (mut pings_sent, mut pongs) = (0, 0);

    // memcached: set KEYS keys, then get each back.
    let mut driver = Driver::new(poll.registry(), DriverOptions::default())?;
    driver
        .add_server(&server, &MEMCACHED)
        .map_err(io::Error::from)?;
    let mut sets: HashMap<Ticket, usize> = HashMap::new();
    let mut gets: HashMap<Ticket, usize> = HashMap::new();
    for i in 0..KEYS {
        let (key, value) = (format!("mio-loop-{i}"), format!("value {i}"));
        let ticket = driver
            .submit(&Request::Store {
                command: StoreCommand::Set,
                key: key.as_bytes(),
                value: value.as_bytes(),
                flags: 0,
                exptime: 60,
                noreply: false,
            })
            .map_err(|e| io::Error::other(e.to_string()))?;
        sets.insert(ticket, i);
    }
    let mut hits = 0;

    while !(sets.is_empty() && gets.is_empty() && hits == KEYS && pongs == PINGS) {
        driver.flush();
        // Our own timer: a ping every 20 ms, whatever memcached does.
        let timeout = driver
            .poll_timeout()
            .map_or(Duration::from_millis(20), |t| {
                t.min(Duration::from_millis(20))
            });
        poll.poll(&mut events, Some(timeout))?;
        for event in events.iter() {
            if driver.handle_event(event) {
                continue;
            }
            match event.token() {
                LISTENER => {
                    let (mut s, _) = listener.accept()?;
                    poll.registry()
                        .register(&mut s, ECHO_SERVER, Interest::READABLE)?;
                    echo = Some(s);
                }
                ECHO_SERVER => {
                    if let Some(s) = echo.as_mut() {
                        let mut buf = [0; 512];
                        while let Ok(n @ 1..) = s.read(&mut buf) {
                            s.write_all(&buf[..n])?;
                        }
                    }
                }
                ECHO_CLIENT => {
                    let mut buf = [0; 512];
                    while let Ok(n @ 1..) = client.read(&mut buf) {
                        pongs += buf[..n].iter().filter(|&&b| b == b'\n').count();
                    }
                }
                _ => {}
            }
        }
        if pings_sent < PINGS && echo.is_some() {
            client.write_all(b"ping\n")?;
            pings_sent += 1;
        }
        driver.handle_timeout();
        while let Some(done) = driver.poll() {
            let reply = done.result.map_err(io::Error::from)?;
            if let Some(i) = sets.remove(&done.ticket) {
                assert_eq!(reply, Reply::Stored);
                let key = format!("mio-loop-{i}");
                let keys: &[&[u8]] = &[key.as_bytes()];
                let ticket = driver
                    .submit(&Request::Get {
                        command: GetCommand::Get,
                        keys,
                    })
                    .map_err(|e| io::Error::other(e.to_string()))?;
                gets.insert(ticket, i);
            } else if let Some(i) = gets.remove(&done.ticket) {
                let Reply::Values(items) = reply else {
                    panic!("a get answered {reply:?}");
                };
                assert_eq!(items[0].value, format!("value {i}").as_bytes());
                hits += 1;
            }
        }
    }
    println!("memcached: {KEYS} sets and {hits} gets over 2 connections; echo: {pongs} pongs");
    Ok(())
}
