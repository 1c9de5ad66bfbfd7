//! Any serde-serialisable type, stored as JSON (feature `json`).

use memcrab_core::{GetCommand, Reply, Request, StoreCommand};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{Memcache, StoreOptions};
use crate::error::{Error, Result};

/// The client flags memcrab stores JSON values with (bit 5: clear of
/// pymemcache's flags 0, 1, 2, 4, 8 and 16).
pub const FLAG_JSON: u32 = 32;

/// Stores and reads any serde type as JSON, beside the raw [`Memcache`]
/// API and whatever serde the client has.
///
/// # Example
///
/// ```no_run
/// use memcrab_transport::{Client, JsonCommands, StoreOptions};
///
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct User { name: String, langs: Vec<String> }
///
/// let client = Client::new("localhost")?;
/// let ada = User { name: "Ada".into(), langs: vec!["en".into()] };
/// client.set_json("user:1", &ada, StoreOptions::new().noreply(false))?;
/// assert_eq!(client.get_json::<User>("user:1")?, Some(ada));
/// # Ok::<(), memcrab_transport::Error>(())
/// ```
pub trait JsonCommands: Memcache {
    /// Stores `value` as JSON with flags [`FLAG_JSON`] (unless `opts`
    /// sets flags); `true` when stored.
    ///
    /// # Errors
    ///
    /// A value serde_json cannot serialize, a bad key, a server or
    /// connection error.
    fn set_json<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<[u8]>,
        value: &T,
        opts: StoreOptions,
    ) -> Result<bool> {
        let data = serde_json::to_vec(value).map_err(|e| serde_error(&e))?;
        let reply = crate::api::one(
            self,
            Request::Store {
                command: StoreCommand::Set,
                key: key.as_ref(),
                value: &data,
                flags: opts.flags.unwrap_or(FLAG_JSON),
                exptime: opts.expire,
                noreply: opts
                    .noreply
                    .unwrap_or(self.command_options().default_noreply),
            },
        )?;
        Ok(matches!(reply, None | Some(Reply::Stored)))
    }

    /// Reads the JSON value of `key` into a `T`, or `None` on a miss.
    ///
    /// # Errors
    ///
    /// A value that is not JSON for a `T`, a bad key, a server or
    /// connection error (a miss with `ignore_exc`).
    fn get_json<T: DeserializeOwned>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>> {
        let items = crate::api::fetch(self, GetCommand::Get, &[key.as_ref()])?;
        items
            .into_iter()
            .next()
            .map(|it| serde_json::from_slice(&it.value).map_err(|e| serde_error(&e)))
            .transpose()
    }
}

impl<C: Memcache + ?Sized> JsonCommands for C {}

fn serde_error(e: &serde_json::Error) -> Error {
    Error::Protocol(memcrab_core::Error::Serde(format!("JSON: {e}")))
}
