//! The engine behind the command API.

use memcrab_core::meta::MetaRequest;
use memcrab_core::Request;

use super::Engine;
use crate::blocking::Outcomes;
use crate::error::Error;

/// An [`Engine`] behind the command API: every command of [`Memcache`](crate::Memcache),
/// each call run to completion on the engine's pipelined connections.
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::mio::Engine;
/// use memcrab_transport::Memcache;
///
/// let client = Engine::builder().server("127.0.0.1:11211").build()?.into_client();
/// client.set("k", "v")?;
/// let clients: Vec<Box<dyn Memcache>> = vec![Box::new(client)];
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
#[derive(Debug)]
pub struct EngineClient {
    engine: std::sync::Mutex<Engine>,
    /// Its serde and the noreply default (pymemcache's: noreply writes).
    pub opts: crate::ClientOptions,
}

impl EngineClient {
    pub(super) fn new(engine: Engine) -> EngineClient {
        EngineClient {
            engine: std::sync::Mutex::new(engine),
            opts: crate::ClientOptions::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl crate::Memcache for EngineClient {
    fn command_options(&self) -> crate::CommandOptions<'_> {
        self.opts.command_options()
    }

    fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes, Error> {
        self.lock().run_batch(|c, now| c.submit(now, requests))
    }

    fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes, Error> {
        self.lock().run_batch(|c, now| c.submit_meta(now, requests))
    }
}
