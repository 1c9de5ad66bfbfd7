//! A shared or boxed client is a client.

use memcrab_core::meta::MetaRequest;
use memcrab_core::Request;

use super::{CommandOptions, Memcache};
use crate::blocking::Outcomes;
use crate::error::Result;

macro_rules! forward_memcache {
    ($($ty:ty),*) => {$(
        impl<C: Memcache + ?Sized> Memcache for $ty {
            fn command_options(&self) -> CommandOptions<'_> {
                (**self).command_options()
            }

            fn execute(&self, requests: &[Request<'_>]) -> Result<Outcomes> {
                (**self).execute(requests)
            }

            fn execute_meta(&self, requests: &[MetaRequest<'_>]) -> Result<Outcomes> {
                (**self).execute_meta(requests)
            }
        }
    )*};
}

// A shared or boxed client is a client: `Arc<PooledClient>` across
// threads, `Box<HashClient>`, `&Client` in a wrapper.
forward_memcache!(&C, Box<C>, std::sync::Arc<C>);
