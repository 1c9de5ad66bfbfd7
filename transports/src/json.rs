//! Any serde-serialisable type, stored as JSON (feature `json`): sugar over
//! the core's [`Json`] codec.

use memcrab_core::serde::Json;
pub use memcrab_core::serde::FLAG_JSON;
use memcrab_core::{GetCommand, StoreCommand};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{results, Memcache, StoreOptions};
use crate::error::Result;

/// Stores and reads any serde type as JSON, beside the raw [`Memcache`]
/// API and whatever serde the client has: `set_json(k, v, opts)` is
/// `set_with(k, Json(v), opts)` and `get_json::<T>(k)` is
/// `get::<Json<T>>(k)`.
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
    /// Stores `value` as JSON with flags [`FLAG_JSON`]; `true` when
    /// stored. Flags set in `opts` replace `FLAG_JSON`, and then
    /// [`get_json`](JsonCommands::get_json) refuses the value (it only reads
    /// what carries `FLAG_JSON`).
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
        let key = key.as_ref();
        crate::api::store(self, StoreCommand::Set, key, &Json(value), opts)
    }

    /// Reads the JSON value of `key` into a `T`, or `None` on a miss.
    ///
    /// # Errors
    ///
    /// A value stored without [`FLAG_JSON`] or that is not JSON for a `T`
    /// (both errors name the key), a bad key, a server or connection error
    /// (a miss with `ignore_exc`).
    fn get_json<T: DeserializeOwned>(&self, key: impl AsRef<[u8]>) -> Result<Option<T>> {
        let key = key.as_ref();
        let items = crate::api::fetch(self, GetCommand::Get, &[key])?;
        let found = results::first_value::<Json<T>>(self.command_options(), key, items)?;
        Ok(found.map(Json::into_inner))
    }
}

impl<C: Memcache + ?Sized> JsonCommands for C {}
