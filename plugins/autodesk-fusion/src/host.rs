//! What a sync needs from the host: GET requests through the authorized HTTP, and the library.
//! Behind traits so the walk runs natively against fakes; [`Sdk`] is the component's
//! implementation.

use chatter_sdk::http::{Method, Request, Response, send};
use chatter_sdk::{Artifact, Error, artifacts};

/// Sends GET requests. Redirects are returned as they are, not followed.
pub trait Transport {
    /// GETs `url` and returns the whole response, whatever its status.
    fn get(&mut self, url: &str) -> Result<Response, Error>;
}

/// The organization's library.
pub trait Library {
    /// Whether an artifact with this source id is already stored.
    fn contains(&mut self, source_id: &str) -> bool;
    /// Stores `artifact`, replacing one with the same source id.
    fn put(&mut self, artifact: Artifact) -> Result<(), Error>;
}

/// The host, through the SDK.
pub struct Sdk;

impl Transport for Sdk {
    fn get(&mut self, url: &str) -> Result<Response, Error> {
        // No headers: the host adds the credential for the provider's API hosts by itself.
        send(&Request {
            method: Method::Get,
            url: url.to_owned(),
            headers: Vec::new(),
            body: None,
        })
    }
}

impl Library for Sdk {
    fn contains(&mut self, source_id: &str) -> bool {
        artifacts::contains(source_id)
    }

    fn put(&mut self, artifact: Artifact) -> Result<(), Error> {
        artifacts::put(&artifact)
    }
}
